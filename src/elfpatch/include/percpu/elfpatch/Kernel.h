//===- Kernel.h - the Linux kernel's per-CPU model, for its modules -------===//
//
// Kernel modules follow the kernel's object model, not this project's user
// space one (README, "Kernel modules"):
//  - per-CPU data is reached through a base register: x86-64 accesses it as
//    %gs:var (a segment-relative memory operand), and takes its address as
//    `mov $var, %reg` + `add %gs:this_cpu_off`; arm64 computes the canonical
//    address with adrp+add and adds the CPU's offset (tpidr_el1);
//  - symbols carry their C names, DECLARE_PER_CPU leaves no record, and
//    vmlinux's per-CPU variables are undefined in the module: only
//    System.map or vmlinux says which are per-CPU (readKernelSymbols);
//  - every module's block (its one .data..percpu section, sh_size at
//    sh_addralign) comes out of a fixed module reserve shared by all loaded
//    modules (PERCPU_MODULE_RESERVE, 8 KiB on x86-64 and arm64), or the load
//    fails with "Could not allocate N bytes percpu data".
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_KERNEL_H
#define PERCPU_ELFPATCH_KERNEL_H

#include "percpu/elfpatch/Layout.h"
#include "percpu/elfpatch/Object.h"

#include "llvm/Support/Error.h"

#include <set>
#include <string>
#include <vector>

namespace percpu::elfpatch {

// The kernel's PERCPU_MODULE_RESERVE (include/linux/percpu.h).
constexpr uint64_t kKernelModuleReserve = 8 << 10;

// Which model an object follows; Auto picks Kernel for kernel modules.
enum class Abi { Auto, User, Kernel };

// Whether `obj` is a kernel module: a .modinfo section, the module struct
// (.gnu.linkonce.this_module) or a kernel export table (__ksymtab*).
bool isKernelModule(const ObjectFile &obj);

// The model to apply to `obj` under `abi`.
bool usesKernelModel(const ObjectFile &obj, Abi abi);

// What the kernel allocates for a module's per-CPU block: its per-CPU
// sections' bytes (one .data..percpu in practice), aligned to the largest
// sh_addralign among them.
struct KernelAllocation {
    uint64_t size = 0, align = 1;
};
KernelAllocation kernelAllocation(const ObjectFile &obj, const BlockLayout &layout);

// vmlinux's symbols, from --kernel-symbols files: System.map ("ADDR TYPE
// NAME" lines; per-CPU are the data symbols between __per_cpu_start and
// __per_cpu_end), a vmlinux ELF (the same bounds, or a per-CPU section), or
// Module.symvers (which exports exist; it cannot tell per-CPU ones, so it
// goes with System.map).
struct KernelSymbols {
    std::set<std::string> perCpu;   // per-CPU variables of vmlinux
    std::set<std::string> ordinary; // other data and functions of vmlinux
    std::set<std::string> exported; // Module.symvers' names (may be empty)
    std::vector<std::string> files;
};
llvm::Expected<KernelSymbols> readKernelSymbols(const std::vector<std::string> &paths);

} // namespace percpu::elfpatch

#endif
