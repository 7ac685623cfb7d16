//===- HostTarget.h - the architecture the loader itself runs on ----------===//
//
// What differs by the *host's* architecture, as opposed to the object's
// (elfpatch's Target): the machine a module must be built for, making code
// written through the data side visible to instruction fetch, the
// arguments an indirect function's resolver gets, and the thread pointer.  Each architecture
// implements hostTarget() in arch/<arch>/HostTarget.cpp; the build links the
// one of the machine it builds for (arch/CMakeLists.txt), so no loader file
// tests the architecture.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_LOADER_HOSTTARGET_H
#define PERCPU_LOADER_HOSTTARGET_H

#include <cstddef>
#include <cstdint>

namespace percpu::loader {

struct HostTarget {
    uint16_t machine;  // the e_machine modules must have
    // Makes [begin, end), written as data, executable-coherent (AArch64's
    // I-cache is not coherent with stores; x86-64's is).
    void (*flushInstructions)(void *begin, void *end);
    // Calls an STT_GNU_IFUNC resolver as ld.so does on this architecture
    // (AArch64 passes AT_HWCAP and a pointer to __ifunc_arg_t).
    uint64_t (*callResolver)(uint64_t resolver);
    // What the host links so that modules can reach libc's and libstdc++'s
    // data (arch/x86_64/libc_data.c), or nullptr; referenced
    // so that the linker keeps it.
    void (*hostCopies)(void);
    // The compiler runtime's helpers that programs link from libgcc.a and
    // that no shared library exports (AArch64's outline atomics,
    // __aarch64_ldadd8_acq_rel & co., which gcc and clang call by default):
    // the host's own copies by name, or nullptr.
    void *(*compilerHelper)(const char *name);
    // The thread pointer (x86-64 %fs base, AArch64 TPIDR_EL0), and where
    // glibc's static TLS lies from it: below (TLS variant II, x86-64) or
    // above (variant I, AArch64).
    uintptr_t (*threadPointer)(void);
    bool staticTlsBelow;
    // Readies the TLS descriptor resolvers (arch/<arch>/tlsdesc.S) once,
    // before the first module's descriptor can be called.
    void (*prepareTlsDescriptors)(void);
};

// The host this loader was built for.
const HostTarget &hostTarget();

} // namespace percpu::loader

#endif
