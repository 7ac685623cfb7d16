//===- x86_64/HostTarget.cpp - the loader running on an x86-64 host --------===//
//
// The x86-64 side of the loader's HostTarget (src/loader/HostTarget.h):
//  - instruction fetch is coherent with stores (Intel SDM vol. 3, 11.6: a
//    write to code is seen by later fetches after a jump), so code written
//    through the data side needs no cache maintenance;
//  - an STT_GNU_IFUNC resolver takes no arguments (it reads the CPU's
//    features through cpuid or __builtin_cpu_supports, as in ld.so);
//  - modules compiled -fPIE reach libc's data with 32-bit PC-relative
//    displacements: libc_data.c makes the host's linker copy that data into
//    the host's image, within reach of the module area;
//  - the compiler runtime's helpers all live in libgcc_s, which the process
//    exports: none is the host's to supply.
//===----------------------------------------------------------------------===//
#include "HostTarget.h"

#include <elf.h>

namespace percpu::loader {
namespace {

extern "C" void pcpu_loader_libc_anchor(void); // libc_data.c

void flushNothing(void *, void *) {}

uint64_t callResolver(uint64_t resolver) { return reinterpret_cast<uint64_t (*)()>(resolver)(); }

void *noCompilerHelper(const char *) { return nullptr; }

constexpr HostTarget kHost = {EM_X86_64, flushNothing, callResolver, pcpu_loader_libc_anchor,
                              noCompilerHelper};

} // namespace

const HostTarget &hostTarget() { return kHost; }

} // namespace percpu::loader
