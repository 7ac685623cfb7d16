//===- loader_testing.h - the relocation engine, without loading -----------===//
//
// For differential tests against a linker: relocates an object as if each
// allocated section were at addresses[index] (0: not placed), with undefined
// symbols at 0 (as ld.lld --unresolved-symbols=ignore-all), and returns the
// relocated contents
// of the placed sections.  GOT entries and PLT stubs live in scratch memory.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_LOADER_LOADERTESTING_H
#define PERCPU_LOADER_LOADERTESTING_H

#include "percpu/elfpatch/Object.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <vector>

namespace percpu::loader::testing {

llvm::Expected<std::map<uint32_t, std::vector<uint8_t>>>
relocateAt(const elfpatch::ObjectFile &obj, const std::vector<uint64_t> &addresses);

} // namespace percpu::loader::testing

#endif
