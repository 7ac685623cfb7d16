// struct percpu_counter (<percpu/percpu_counter.h>): the out-of-line half.
//
// The fast path (a this_cpu cmpxchg on the CPU's 32-bit delta) is inline in
// the header; here are the fold of a delta that reached the batch, the exact
// sum and comparison, and set/init/destroy.
//
// Synchronisation: fbc->count is changed by atomic additions (the fold: no
// lock, so that threads whose deltas reach the batch together do not queue
// on one) and by set(), under fbc->pcpu__lock (a futex word), which
// serialises the sets.  Deltas are only changed by this_cpu operations
// (fast path, fold's xchg) or, in set(), by relaxed stores; sums read the
// count and the deltas with relaxed loads, so a concurrent update is
// counted or not, never torn: a sum is exact but for the updates racing it,
// a fold in flight (its delta taken, not yet added) included, each less
// than the batch, as the kernel documents for percpu_counter_sum().
#include "percpu/percpu_counter.h"
#include "percpu/percpu.h"

#include <cerrno>
#include <climits>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

extern "C" {
int percpu_counter_batch = 32;
}

namespace {

void counterLock(uint32_t *w)
{
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(w, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    if (c != 2)
        c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
        c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
    }
}

void counterUnlock(uint32_t *w)
{
    if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) == 2)
        syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

int64_t deltas(const struct percpu_counter *fbc)
{
    int64_t s = 0;
    for (unsigned c = 0, n = pcpu_nr_cpus(); c < n; ++c)
        s += __atomic_load_n(pcpu_ptr(fbc->counters, c), __ATOMIC_RELAXED);
    return s;
}

unsigned presentCpus()
{
    unsigned n = 0;
    for (unsigned c = 0, nr = pcpu_nr_cpus(); c < nr; ++c)
        n += pcpu_cpu_present(c) ? 1 : 0;
    return n ? n : 1;
}

} // namespace

extern "C" {

int pcpu_counter_init(struct percpu_counter *fbc, int64_t amount)
{
    fbc->pcpu__lock = 0;
    fbc->count = amount;
    fbc->counters = static_cast<int32_t *>(pcpu_alloc(sizeof(int32_t), alignof(int32_t)));
    if (!fbc->counters) {
        errno = ENOMEM;
        return -ENOMEM;
    }
    return 0;
}

void percpu_counter_destroy(struct percpu_counter *fbc)
{
    if (!fbc->counters)
        return;
    pcpu_free(fbc->counters);
    fbc->counters = nullptr;
}

void percpu_counter_set(struct percpu_counter *fbc, int64_t amount)
{
    counterLock(&fbc->pcpu__lock);
    for (unsigned c = 0, n = pcpu_nr_cpus(); c < n; ++c)
        __atomic_store_n(pcpu_ptr(fbc->counters, c), 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fbc->count, amount, __ATOMIC_RELAXED);
    counterUnlock(&fbc->pcpu__lock);
}

void pcpu__counter_fold(struct percpu_counter *fbc, int64_t amount)
{
    // Take this CPU's delta whole (whichever CPU that is by now), then add it
    // and the amount to the shared count: nothing is lost or counted twice.
    int32_t d = pcpu_this_xchg(fbc->counters, 0);
    __atomic_fetch_add(&fbc->count, d + amount, __ATOMIC_RELAXED);
}

int64_t __percpu_counter_sum(struct percpu_counter *fbc)
{
    return __atomic_load_n(&fbc->count, __ATOMIC_RELAXED) + deltas(fbc);
}

int __percpu_counter_compare(struct percpu_counter *fbc, int64_t rhs, int32_t batch)
{
    int64_t count = percpu_counter_read(fbc);
    // Each present CPU's delta stays below `batch` in magnitude.
    int64_t reach = static_cast<int64_t>(batch) * presentCpus();
    int64_t diff = count - rhs;
    if (diff > reach || diff < -reach)
        return count > rhs ? 1 : -1;
    count = __percpu_counter_sum(fbc);
    return count > rhs ? 1 : count < rhs ? -1 : 0;
}

} // extern "C"

PCPU_EXPORT_SYMBOL(percpu_counter_batch);
PCPU_EXPORT_SYMBOL(pcpu_counter_init);
PCPU_EXPORT_SYMBOL(percpu_counter_destroy);
PCPU_EXPORT_SYMBOL(percpu_counter_set);
PCPU_EXPORT_SYMBOL(pcpu__counter_fold);
PCPU_EXPORT_SYMBOL(__percpu_counter_sum);
PCPU_EXPORT_SYMBOL(__percpu_counter_compare);
