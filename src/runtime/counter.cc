// struct percpu_counter (<percpu/percpu_counter.h>): the out-of-line half.
//
// The fast path (one rseq section on the CPU's 32-bit delta) is inline in
// the header; here are the first update on a CPU, the fold of a delta that
// reached the batch, the exact sum and comparison, and set/init/destroy.
//
// CPUs that counted: each CPU's copy is {delta, counted}.  The first update
// on a CPU finds counted == 0 (the fast path answers 2) and marks the CPU:
// its bit in fbc->pcpu__counted first (the winner of that bit also appends
// the CPU to the counter's list), then counted = 1 in its copy.  The fast
// path adds only where counted is 1, in the same section, so a nonzero delta
// is always on a listed CPU, and sums visit the list only: their cost is the
// CPUs that counted, not the possible CPUs.
//
// fbc->pcpu__counted: the bitmap (a word per 64 possible CPUs), the list's
// length, then the list (CPU + 1 per entry, 32 bits; 0 while the entry is
// being written: that CPU has no delta yet).
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
#include "runtime.h"

#include <cerrno>
#include <climits>
#include <sched.h>
#include <cstdlib>

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

size_t countedWords() { return (pcpu_nr_cpus() + 63) / 64; }
size_t countedBytes() { return (countedWords() + 1) * sizeof(uint64_t) + pcpu_nr_cpus() * sizeof(uint32_t); }
uint64_t *listLength(const struct percpu_counter *fbc) { return fbc->pcpu__counted + countedWords(); }
uint32_t *listOf(const struct percpu_counter *fbc)
{
    return reinterpret_cast<uint32_t *>(fbc->pcpu__counted + countedWords() + 1);
}

// Calls fn(cpu) for every CPU that counted.
template <typename F>
void forEachCounted(const struct percpu_counter *fbc, F fn)
{
    const uint32_t *list = listOf(fbc);
    for (uint64_t i = 0, n = __atomic_load_n(listLength(fbc), __ATOMIC_ACQUIRE); i < n; ++i)
        if (const uint32_t e = __atomic_load_n(&list[i], __ATOMIC_ACQUIRE))
            fn(e - 1);
}

int64_t deltas(const struct percpu_counter *fbc)
{
    int64_t s = 0;
    forEachCounted(fbc, [&](unsigned c) { s += __atomic_load_n(pcpu_ptr(fbc->counters, c), __ATOMIC_RELAXED); });
    return s;
}

unsigned countedCpus(const struct percpu_counter *fbc)
{
    return static_cast<unsigned>(__atomic_load_n(listLength(fbc), __ATOMIC_RELAXED));
}

// The CPU counts from now on: listed, then its counted word set.  The
// thread that wins its bit lists it; another thread marking the same CPU
// meanwhile waits for the word, so that no update lands on a CPU a sum
// would not visit.
void markCounted(struct percpu_counter *fbc, unsigned cpu)
{
    int32_t *counted = pcpu_ptr(fbc->counters, cpu) + 1;
    if (__atomic_load_n(counted, __ATOMIC_ACQUIRE))
        return;
    const uint64_t bit = uint64_t{1} << (cpu % 64);
    if (!(__atomic_fetch_or(&fbc->pcpu__counted[cpu / 64], bit, __ATOMIC_SEQ_CST) & bit)) {
        const uint64_t at = __atomic_fetch_add(listLength(fbc), 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&listOf(fbc)[at], cpu + 1, __ATOMIC_RELEASE);
        __atomic_store_n(counted, 1, __ATOMIC_RELEASE);
        return;
    }
    while (!__atomic_load_n(counted, __ATOMIC_ACQUIRE))
        sched_yield();
}

// An update by a thread that holds a CPU (get_cpu(), preempt_disable()):
// the held CPU's delta takes it, wherever the thread runs, as it would in
// the kernel with preemption off, so the fold happens where the kernel's
// does.  The this_cpu operations of a holder name the held CPU and commit
// only there (or move the thread back), so they are exact against the
// other threads' fast paths on that CPU.
void addHeld(struct percpu_counter *fbc, int64_t amount, int32_t batch, unsigned held)
{
    markCounted(fbc, held);
    int32_t *d = fbc->counters;
    int32_t old = pcpu_this_read(d);
    for (;;) {
        const int64_t now = static_cast<int64_t>(old) + amount;
        if (now >= batch || now <= -static_cast<int64_t>(batch)) {
            pcpu__counter_fold(fbc, amount);
            return;
        }
        const int32_t seen = pcpu_this_cmpxchg(d, old, static_cast<int32_t>(now));
        if (seen == old)
            return;
        old = seen;
    }
}

} // namespace

extern "C" {

int pcpu_counter_init(struct percpu_counter *fbc, int64_t amount)
{
    fbc->pcpu__lock = 0;
    fbc->count = amount;
    fbc->counters = static_cast<int32_t *>(pcpu_alloc(2 * sizeof(int32_t), 2 * sizeof(int32_t)));
    fbc->pcpu__counted = fbc->counters ? static_cast<uint64_t *>(calloc(1, countedBytes()))
                                       : nullptr;
    if (!fbc->pcpu__counted) {
        pcpu_free(fbc->counters);
        fbc->counters = nullptr;
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
    free(fbc->pcpu__counted);
    fbc->counters = nullptr;
    fbc->pcpu__counted = nullptr;
}

void percpu_counter_set(struct percpu_counter *fbc, int64_t amount)
{
    counterLock(&fbc->pcpu__lock);
    forEachCounted(fbc, [&](unsigned c) { __atomic_store_n(pcpu_ptr(fbc->counters, c), 0, __ATOMIC_RELAXED); });
    __atomic_store_n(&fbc->count, amount, __ATOMIC_RELAXED);
    counterUnlock(&fbc->pcpu__lock);
}

void pcpu__counter_add_slow(struct percpu_counter *fbc, int64_t amount, int32_t batch, int why)
{
    int32_t *d = fbc->counters;
    if (batch <= 0) {
        pcpu__counter_fold(fbc, amount); // every update goes to the count
        return;
    }
    if (pcpu__thread_held_cpu) {
        addHeld(fbc, amount, batch, static_cast<unsigned>(pcpu__thread_held_cpu - 1));
        return;
    }
    const int64_t lo = 1 - static_cast<int64_t>(batch);
    const uint64_t span = 2 * static_cast<uint64_t>(batch) - 1;
    // A 1 from the caller's fast path is tried again here first: a shared
    // object's fast path answers 1 for a CPU past its bounded unit table too
    // (PCPU_LIBRARY_UNIT_ENTRIES), where the runtime's own has every CPU.
    for (bool prepared = false, first = true;; first = false) {
        const int r = first && why != 1 ? why : pcpu_arch_counter_add(d, amount, lo, span);
        if (r == 0)
            return;
        if (!__atomic_load_n(&pcpu__thread_rseq_offset, __ATOMIC_RELAXED)) {
            // The thread's fast paths are off: its first use of rseq
            // (register its area, try again), or no rseq at all.
            if (prepared || !percpu::rt::prepareRseqThread())
                break;
            prepared = true;
            continue;
        }
        const int cpu = percpu::rt::rseqCpu(); // what the section read
        if (cpu < 0)
            break;
        if (r == 2) { // the first update on this CPU: mark it, try again
            markCounted(fbc, static_cast<unsigned>(cpu));
            continue;
        }
        pcpu__counter_fold(fbc, amount); // out of the batch
        return;
    }
    // No rseq: every update is an atomic one, so any CPU's copy may take
    // it: the one named now.
    const int cpu = pcpu__this_cpu();
    markCounted(fbc, static_cast<unsigned>(cpu));
    int32_t *mine = pcpu_ptr(d, cpu);
    for (;;) {
        int32_t old = __atomic_load_n(mine, __ATOMIC_RELAXED);
        int64_t now = static_cast<int64_t>(old) + amount;
        if (now >= batch || now <= -static_cast<int64_t>(batch))
            break;
        if (__atomic_compare_exchange_n(mine, &old, static_cast<int32_t>(now), false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return;
    }
    pcpu__counter_fold(fbc, amount);
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
    // Each delta stays below `batch` in magnitude, and only CPUs that
    // counted have one.
    int64_t reach = static_cast<int64_t>(batch) * countedCpus(fbc);
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
PCPU_EXPORT_SYMBOL(pcpu__counter_add_slow);
PCPU_EXPORT_SYMBOL(__percpu_counter_sum);
PCPU_EXPORT_SYMBOL(__percpu_counter_compare);
