//===- Compat.h - the few LLVM API differences between 14 and 19 ----------===//
#ifndef PERCPU_ELFPATCH_COMPAT_H
#define PERCPU_ELFPATCH_COMPAT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Config/llvm-config.h"

namespace percpu::elfpatch {

// StringRef::starts_with arrived in LLVM 16 (startswith before).
inline bool startsWith(llvm::StringRef s, llvm::StringRef prefix)
{
    return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

inline bool endsWith(llvm::StringRef s, llvm::StringRef suffix)
{
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// llvm::Optional (LLVM 14) has no value_or; std::optional (LLVM 16+) does.
template <typename Opt, typename T> auto valueOr(const Opt &o, T fallback)
{
    return o ? *o : fallback;
}

} // namespace percpu::elfpatch

#endif
