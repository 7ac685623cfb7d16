//===- Check.h - the per-CPU layout rules for CI -------------------------===//
//
// runChecks() applies every enabled rule to a set of files read together
// (relocatable objects and linked programs), so that cross-object rules
// (kind-mismatch, block-budget totals) see all of them.  It collects every
// diagnostic; it never stops at the first.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_CHECK_H
#define PERCPU_ELFPATCH_CHECK_H

#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Kernel.h"
#include "percpu/elfpatch/Object.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace percpu::elfpatch {

struct Growth {
    uint64_t value = 0;
    bool percent = false;
};
// Parses "512" (bytes) or "10%".
std::optional<Growth> parseGrowth(const std::string &text);

// A baseline written by `layout --format json`.
struct Baseline {
    struct Var {
        std::string name, section;
        uint64_t offset = 0, size = 0;
        std::string input;       // "input", absent: ""
        unsigned occurrence = 0; // "occurrence", absent: 0
    };
    std::string file;
    uint64_t blockSize = 0;
    std::vector<Var> vars;
};
llvm::Expected<Baseline> readBaseline(const std::string &path);

struct CheckOptions {
    uint64_t cacheline = 64;
    // Unset: no budget for user-space objects, the module reserve
    // (kKernelModuleReserve) for kernel modules.
    std::optional<uint64_t> maxBlock;
    Abi abi = Abi::Auto;
    // vmlinux's per-CPU variables (--kernel-symbols), for kernel modules.
    std::optional<KernelSymbols> kernelSymbols;
    std::optional<Baseline> baseline;
    std::optional<Growth> maxGrowth;
    std::set<std::string> disabled;
};

std::vector<Diagnostic> runChecks(const std::vector<ObjectFile> &files, const CheckOptions &options);

// The rules about an object's structure that a loader must also enforce
// before it maps anything (today `section-flags`: a per-CPU section that is
// not allocated, writable, non-executable PROGBITS/NOBITS data), from the
// same code as `check`.
std::vector<Diagnostic> structuralDiagnostics(const ObjectFile &file);

} // namespace percpu::elfpatch

#endif
