// The host architecture behind HostTarget (see HostTarget.h).
#include "HostTarget.h"

#include <elf.h>

#include <sys/auxv.h>

#include <cstring>

namespace percpu::loader {
namespace {

#if defined(__x86_64__)

extern "C" void pcpu_loader_libc_anchor(void); // libc_data.c

void flushNothing(void *, void *) {}

uint64_t callResolverX86_64(uint64_t resolver)
{
    return reinterpret_cast<uint64_t (*)()>(resolver)();
}

void *noCompilerHelper(const char *) { return nullptr; }

constexpr HostTarget kHost = {EM_X86_64, flushNothing, callResolverX86_64,
                               pcpu_loader_libc_anchor, noCompilerHelper};

#elif defined(__aarch64__)

void flushICache(void *begin, void *end)
{
    __builtin___clear_cache(static_cast<char *>(begin), static_cast<char *>(end));
}

// glibc's ABI for AArch64 resolvers: (hwcap | _IFUNC_ARG_HWCAP, &__ifunc_arg_t).
uint64_t callResolverAArch64(uint64_t resolver)
{
    struct {
        unsigned long size, hwcap, hwcap2;
    } arg = {sizeof(arg), getauxval(AT_HWCAP), getauxval(AT_HWCAP2)};
    return reinterpret_cast<uint64_t (*)(uint64_t, const void *)>(resolver)(arg.hwcap | (1ULL << 62), &arg);
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
    if (strncmp(name, "__aarch64_", 10) != 0)
        return nullptr;
    for (const Helper &h : kOutlineAtomics)
        if (strcmp(h.name, name) == 0)
            return reinterpret_cast<void *>(h.fn);
    return nullptr;
}

constexpr HostTarget kHost = {EM_AARCH64, flushICache, callResolverAArch64, nullptr, outlineAtomic};

#else
#error "percpu's loader supports x86-64 and AArch64 hosts"
#endif

} // namespace

const HostTarget &hostTarget() { return kHost; }

} // namespace percpu::loader
