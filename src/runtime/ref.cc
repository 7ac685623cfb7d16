// struct percpu_ref (<percpu/percpu-refcount.h>): the out-of-line half.
//
// The count of a ref is, in per-CPU mode, data->count (holding kBias plus
// what the shared path added) plus every CPU's per-CPU count (wrapping
// unsigned sums) minus kBias.  The bias keeps data->count far from zero, so
// a put on the shared path can release only in atomic mode.
//
// Switching to atomic mode: set __PERCPU_REF_ATOMIC, then
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ): the fast path reads
// the flag inside its rseq critical section, so after the membarrier no CPU
// adds to the per-CPU counts any more.  Then the per-CPU counts (exact now)
// are added to data->count and the bias removed.  Switching back adds the
// bias, zeroes the per-CPU counts and clears the flag (release order).
//
// Synchronisation: mode changes (switch, kill, resurrect, reinit, exit) are
// serialised by switchLock; get/put never take it.
#include "percpu/percpu-refcount.h"
#include "percpu/percpu.h"

#include "lock.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

constexpr long kBias = LONG_MIN / 2 * -1; // 2^62: far from 0 and from overflow

percpu::rt::FutexLock switchLock;

// Whether the per-CPU mode can be used: the membarrier command that
// restarts rseq critical sections is registered (Linux 5.10).
bool percpuModeUsable()
{
    static int usable = -1; // racing first calls register twice, and agree
    int u = __atomic_load_n(&usable, __ATOMIC_ACQUIRE);
    if (u < 0) {
        u = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0;
        __atomic_store_n(&usable, u, __ATOMIC_RELEASE);
    }
    return u == 1;
}

unsigned long *counts(const struct percpu_ref *ref)
{
    return reinterpret_cast<unsigned long *>(ref->percpu_count_ptr &
                                             ~static_cast<unsigned long>(__PERCPU_REF_ATOMIC_DEAD));
}

unsigned long flags(const struct percpu_ref *ref)
{
    return __atomic_load_n(&ref->percpu_count_ptr, __ATOMIC_ACQUIRE) & __PERCPU_REF_ATOMIC_DEAD;
}

void setFlags(struct percpu_ref *ref, unsigned long set, unsigned long clear)
{
    unsigned long w = __atomic_load_n(&ref->percpu_count_ptr, __ATOMIC_RELAXED);
    __atomic_store_n(&ref->percpu_count_ptr, (w | set) & ~clear, __ATOMIC_SEQ_CST);
}

// CONTEXT: switchLock held.
void toAtomic(struct percpu_ref *ref, percpu_ref_func_t *confirm)
{
    if (flags(ref) & __PERCPU_REF_ATOMIC) {
        if (confirm)
            confirm(ref);
        return;
    }
    setFlags(ref, __PERCPU_REF_ATOMIC, 0);
    // Every fast path that read the flag clear has committed, or restarts
    // and takes the shared path.
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
    unsigned long sum = 0;
    unsigned long *c = counts(ref);
    for (unsigned cpu = 0, n = pcpu_nr_cpus(); cpu < n; ++cpu)
        sum += __atomic_load_n(static_cast<unsigned long *>(pcpu_ptr(c, cpu)), __ATOMIC_RELAXED);
    long delta = static_cast<long>(sum - static_cast<unsigned long>(kBias));
    __atomic_fetch_add(&ref->data->count, delta, __ATOMIC_ACQ_REL);
    if (confirm)
        confirm(ref);
}

// CONTEXT: switchLock held.
void toPercpu(struct percpu_ref *ref)
{
    if (!(flags(ref) & __PERCPU_REF_ATOMIC) || !percpuModeUsable())
        return;
    __atomic_fetch_add(&ref->data->count, kBias, __ATOMIC_RELAXED);
    unsigned long *c = counts(ref);
    for (unsigned cpu = 0, n = pcpu_nr_cpus(); cpu < n; ++cpu)
        __atomic_store_n(static_cast<unsigned long *>(pcpu_ptr(c, cpu)), 0, __ATOMIC_RELAXED);
    setFlags(ref, 0, __PERCPU_REF_ATOMIC);
}

// The kernel's __percpu_ref_switch_mode: atomic when forced or dying.
// CONTEXT: switchLock held.
void switchMode(struct percpu_ref *ref, percpu_ref_func_t *confirm)
{
    if (ref->data->force_atomic || (flags(ref) & __PERCPU_REF_DEAD))
        toAtomic(ref, confirm);
    else
        toPercpu(ref);
}

} // namespace

extern "C" {

int percpu_ref_init(struct percpu_ref *ref, percpu_ref_func_t *release, unsigned int flags,
                    unsigned int)
{
    auto *c = static_cast<unsigned long *>(pcpu_alloc(sizeof(unsigned long), alignof(unsigned long)));
    auto *data = static_cast<struct percpu_ref_data *>(calloc(1, sizeof(struct percpu_ref_data)));
    if (!c || !data) {
        pcpu_free(c);
        free(data);
        ref->percpu_count_ptr = __PERCPU_REF_ATOMIC_DEAD;
        ref->data = nullptr;
        return -ENOMEM;
    }
    bool atomic = (flags & (PERCPU_REF_INIT_ATOMIC | PERCPU_REF_INIT_DEAD)) || !percpuModeUsable();
    data->force_atomic = flags & PERCPU_REF_INIT_ATOMIC;
    data->allow_reinit = flags & (PERCPU_REF_ALLOW_REINIT | PERCPU_REF_INIT_DEAD);
    data->release = release;
    data->ref = ref;
    long start = (flags & PERCPU_REF_INIT_DEAD) ? 0 : 1;
    unsigned long word = reinterpret_cast<unsigned long>(c);
    if (atomic)
        word |= __PERCPU_REF_ATOMIC;
    else
        start += kBias;
    if (flags & PERCPU_REF_INIT_DEAD)
        word |= __PERCPU_REF_DEAD;
    data->count = start;
    ref->data = data;
    __atomic_store_n(&ref->percpu_count_ptr, word, __ATOMIC_RELEASE);
    return 0;
}

void percpu_ref_exit(struct percpu_ref *ref)
{
    if (!ref->data)
        return;
    percpu::rt::LockGuard guard(switchLock);
    pcpu_free(counts(ref));
    // As the kernel does: what is left of the count stays readable
    // (percpu_ref_is_zero) in the word's upper bits.
    long left = (flags(ref) & __PERCPU_REF_ATOMIC) ? __atomic_load_n(&ref->data->count, __ATOMIC_ACQUIRE) : 1;
    free(ref->data);
    ref->data = nullptr;
    ref->percpu_count_ptr = (static_cast<unsigned long>(left) << __PERCPU_REF_FLAG_BITS) |
                            __PERCPU_REF_ATOMIC_DEAD;
}

void percpu_ref_switch_to_atomic(struct percpu_ref *ref, percpu_ref_func_t *confirm_switch)
{
    percpu::rt::LockGuard guard(switchLock);
    ref->data->force_atomic = true;
    switchMode(ref, confirm_switch);
}

void percpu_ref_switch_to_atomic_sync(struct percpu_ref *ref)
{
    percpu_ref_switch_to_atomic(ref, nullptr);
}

void percpu_ref_switch_to_percpu(struct percpu_ref *ref)
{
    percpu::rt::LockGuard guard(switchLock);
    ref->data->force_atomic = false;
    switchMode(ref, nullptr);
}

void percpu_ref_kill_and_confirm(struct percpu_ref *ref, percpu_ref_func_t *confirm_kill)
{
    {
        percpu::rt::LockGuard guard(switchLock);
        if (flags(ref) & __PERCPU_REF_DEAD) {
            fprintf(stderr, "percpu: percpu_ref_kill_and_confirm() called more than once on %p\n",
                    static_cast<void *>(ref));
            return;
        }
        setFlags(ref, __PERCPU_REF_DEAD, 0);
        switchMode(ref, confirm_kill);
    }
    percpu_ref_put(ref); // the initial reference
}

void percpu_ref_resurrect(struct percpu_ref *ref)
{
    percpu::rt::LockGuard guard(switchLock);
    if (!(flags(ref) & __PERCPU_REF_DEAD) || !ref->data->allow_reinit) {
        fprintf(stderr, "percpu: percpu_ref_resurrect() on %p, which is %s\n",
                static_cast<void *>(ref),
                (flags(ref) & __PERCPU_REF_DEAD) ? "not PERCPU_REF_ALLOW_REINIT" : "not dead");
        return;
    }
    setFlags(ref, 0, __PERCPU_REF_DEAD);
    __atomic_fetch_add(&ref->data->count, 1, __ATOMIC_RELAXED); // the initial reference again
    switchMode(ref, nullptr);
}

void percpu_ref_reinit(struct percpu_ref *ref)
{
    if (!percpu_ref_is_zero(ref))
        fprintf(stderr, "percpu: percpu_ref_reinit() on %p, whose count is not zero\n",
                static_cast<void *>(ref));
    percpu_ref_resurrect(ref);
}

bool percpu_ref_is_zero(struct percpu_ref *ref)
{
    if (!ref->data)
        return (ref->percpu_count_ptr >> __PERCPU_REF_FLAG_BITS) == 0;
    if (!(flags(ref) & __PERCPU_REF_ATOMIC))
        return false;
    return __atomic_load_n(&ref->data->count, __ATOMIC_ACQUIRE) == 0;
}

void pcpu__ref_put_slow(struct percpu_ref *ref, unsigned long nr)
{
    if (__atomic_sub_fetch(&ref->data->count, static_cast<long>(nr), __ATOMIC_ACQ_REL) == 0)
        ref->data->release(ref);
}

} // extern "C"

PCPU_EXPORT_SYMBOL(percpu_ref_init);
PCPU_EXPORT_SYMBOL(percpu_ref_exit);
PCPU_EXPORT_SYMBOL(percpu_ref_switch_to_atomic);
PCPU_EXPORT_SYMBOL(percpu_ref_switch_to_atomic_sync);
PCPU_EXPORT_SYMBOL(percpu_ref_switch_to_percpu);
PCPU_EXPORT_SYMBOL(percpu_ref_kill_and_confirm);
PCPU_EXPORT_SYMBOL(percpu_ref_resurrect);
PCPU_EXPORT_SYMBOL(percpu_ref_reinit);
PCPU_EXPORT_SYMBOL(percpu_ref_is_zero);
PCPU_EXPORT_SYMBOL(pcpu__ref_put_slow);
