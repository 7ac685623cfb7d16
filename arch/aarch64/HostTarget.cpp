//===- aarch64/HostTarget.cpp - the loader running on an AArch64 host ------===//
//
// The AArch64 side of the loader's HostTarget (src/loader/HostTarget.h):
//  - the instruction cache is not coherent with data stores (Arm ARM, B2.4.4):
//    code written through the data side is cleaned to the point of
//    unification and invalidated before it runs (__builtin___clear_cache);
//  - glibc calls an STT_GNU_IFUNC resolver with (AT_HWCAP | _IFUNC_ARG_HWCAP,
//    &__ifunc_arg_t) (sysdeps/aarch64/dl-irel.h);
//  - gcc >= 10 and clang call libgcc's outline atomics (__aarch64_ldadd8_acq_rel
//    & co.) by default; they are hidden in libgcc.a and exported by no shared
//    library, so the host supplies its own copies;
//  - TLS variant I: glibc's static TLS lies above the thread pointer
//    (TPIDR_EL0), after a 16-byte TCB.
//===----------------------------------------------------------------------===//
#include "HostTarget.h"

#include <elf.h>

#include <sys/auxv.h>

#include <cstring>

namespace percpu::loader {
namespace {

void flushICache(void *begin, void *end)
{
    __builtin___clear_cache(static_cast<char *>(begin), static_cast<char *>(end));
}

// glibc's <sys/ifunc.h>: set in the resolver's first argument when the
// second points to an __ifunc_arg_t.
constexpr uint64_t kIfuncArgHwcap = uint64_t{1} << 62; // _IFUNC_ARG_HWCAP

uint64_t callResolver(uint64_t resolver)
{
    struct { // __ifunc_arg_t
        unsigned long size, hwcap, hwcap2;
    } arg = {sizeof(arg), getauxval(AT_HWCAP), getauxval(AT_HWCAP2)};
    return reinterpret_cast<uint64_t (*)(uint64_t, const void *)>(resolver)(arg.hwcap | kIfuncArgHwcap,
                                                                            &arg);
}

// libgcc's outline atomics (GCC's lse.S: -moutline-atomics, the default of
// gcc >= 10 and of clang on Linux): LSE instructions when the CPU has them,
// LL/SC loops otherwise.  Each is a hidden function of its own in libgcc.a,
// linked into a program only if the program calls it, and no shared library
// exports them; naming all of them here links every one into the host, so a
// module's calls bind to them.
#define PCPU_ATOMIC_MODELS(op, size)                                                               \
    X(op, size, relax) X(op, size, acq) X(op, size, rel) X(op, size, acq_rel)
#define PCPU_ATOMIC_SIZES(op)                                                                      \
    PCPU_ATOMIC_MODELS(op, 1) PCPU_ATOMIC_MODELS(op, 2) PCPU_ATOMIC_MODELS(op, 4)                 \
    PCPU_ATOMIC_MODELS(op, 8)
#define PCPU_OUTLINE_ATOMICS                                                                       \
    PCPU_ATOMIC_SIZES(cas) PCPU_ATOMIC_MODELS(cas, 16) PCPU_ATOMIC_SIZES(swp)                      \
    PCPU_ATOMIC_SIZES(ldadd) PCPU_ATOMIC_SIZES(ldclr) PCPU_ATOMIC_SIZES(ldeor)                     \
    PCPU_ATOMIC_SIZES(ldset)

#define X(op, size, model) extern "C" void __aarch64_##op##size##_##model(void);
PCPU_OUTLINE_ATOMICS
#undef X

struct Helper {
    const char *name;
    void (*fn)(void);
};
#define X(op, size, model) {"__aarch64_" #op #size "_" #model, __aarch64_##op##size##_##model},
constexpr Helper kOutlineAtomics[] = {PCPU_OUTLINE_ATOMICS};
#undef X

void *outlineAtomic(const char *name)
{
    constexpr char prefix[] = "__aarch64_";
    if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
        return nullptr;
    for (const Helper &h : kOutlineAtomics)
        if (strcmp(h.name, name) == 0)
            return reinterpret_cast<void *>(h.fn);
    return nullptr;
}

uintptr_t threadPointer()
{
    uintptr_t tp;
    __asm__("mrs %0, tpidr_el0" : "=r"(tp));
    return tp;
}

void prepareNothing() {}

constexpr HostTarget kHost = {EM_AARCH64, flushICache,    callResolver,
                              nullptr,    outlineAtomic,  threadPointer,
                              /*staticTlsBelow=*/false, prepareNothing};

} // namespace

const HostTarget &hostTarget() { return kHost; }

} // namespace percpu::loader
