// The host architecture behind HostTarget (see HostTarget.h).
#include "HostTarget.h"

#include <elf.h>

#include <sys/auxv.h>

namespace percpu::loader {
namespace {

#if defined(__x86_64__)

extern "C" void pcpu_loader_libc_anchor(void); // libc_data.c

void flushNothing(void *, void *) {}

uint64_t callResolverX86_64(uint64_t resolver)
{
    return reinterpret_cast<uint64_t (*)()>(resolver)();
}

constexpr HostTarget kHost = {EM_X86_64, flushNothing, callResolverX86_64,
                               pcpu_loader_libc_anchor};

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

constexpr HostTarget kHost = {EM_AARCH64, flushICache, callResolverAArch64, nullptr};

#else
#error "percpu's loader supports x86-64 and AArch64 hosts"
#endif

} // namespace

const HostTarget &hostTarget() { return kHost; }

} // namespace percpu::loader
