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
//    exports: none is the host's to supply;
//  - TLS variant II: glibc's static TLS lies below the thread pointer, which
//    %fs:0 holds (the TCB points to itself).
//===----------------------------------------------------------------------===//
#include "HostTarget.h"

#include <cpuid.h>
#include <elf.h>

namespace percpu::loader {
namespace {

extern "C" void pcpu_loader_libc_anchor(void); // libc_data.c

void flushNothing(void *, void *) {}

uint64_t callResolver(uint64_t resolver) { return reinterpret_cast<uint64_t (*)()>(resolver)(); }

void *noCompilerHelper(const char *) { return nullptr; }

uintptr_t threadPointer()
{
    uintptr_t tp;
    __asm__("movq %%fs:0, %0" : "=r"(tp)); // the TCB's self pointer
    return tp;
}

// tlsdesc.S's slow path saves the vector state with XSAVE into a buffer of
// the size CPUID leaf 0xd gives for the features the kernel enabled (AVX,
// AVX-512, AMX tiles included), or with FXSAVE (512 bytes) without XSAVE.
extern "C" uint32_t pcpu_tlsdesc_xsave_size;
void prepareTlsDescriptors()
{
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_OSXSAVE) &&
        __get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx) && ebx)
        __atomic_store_n(&pcpu_tlsdesc_xsave_size, ebx, __ATOMIC_RELAXED);
}

constexpr HostTarget kHost = {EM_X86_64, flushNothing, callResolver, pcpu_loader_libc_anchor,
                              noCompilerHelper, threadPointer, /*staticTlsBelow=*/true,
                              prepareTlsDescriptors};

} // namespace

const HostTarget &hostTarget() { return kHost; }

} // namespace percpu::loader
