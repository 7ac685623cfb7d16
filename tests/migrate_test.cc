// this_cpu operations from more threads than CPUs while every thread keeps
// changing its affinity: the sum over CPUs must equal the number of updates.
// ctest runs this binary three times: with glibc's rseq area, with our own
// (GLIBC_TUNABLES=glibc.pthread.rseq=0) and with the sched_getcpu()+atomic
// fallback (PERCPU_RSEQ=0); PERCPU_EXPECT_SOURCE says which must be in use.
#include <percpu/linux.h>

#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

DEFINE_PER_CPU(uint64_t, hits64);
DEFINE_PER_CPU(uint32_t, hits32);
DEFINE_PER_CPU(uint16_t, hits16);
DEFINE_PER_CPU(uint8_t, hits8);
DEFINE_PER_CPU(long, cas_hits);
DEFINE_PER_CPU(long, ret_hits);

namespace {

int threadCount() { return static_cast<int>(2 * std::thread::hardware_concurrency() + 2); }

template <typename F> void hammer(long perThread, F &&op)
{
    std::vector<std::thread> ts;
    for (int t = 0; t < threadCount(); ++t)
        ts.emplace_back([=, &op] {
            for (long i = 0; i < perThread; ++i) {
                if (i % 512 == 0)
                    percpu::test::migrate(t + static_cast<int>(i / 512));
                op(i);
            }
        });
    for (auto &t : ts)
        t.join();
}

template <typename T> uint64_t sumOf(T *canon)
{
    uint64_t s = 0;
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        s += __atomic_load_n(per_cpu_ptr(canon, c), __ATOMIC_RELAXED);
    return s;
}

// Every CPU's copy back to 0: the tests that count into per-CPU statics
// start from zero, so that --gtest_repeat runs them again exactly.
template <typename T> void zeroEveryCpu(T *canon)
{
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        __atomic_store_n(per_cpu_ptr(canon, c), T{0}, __ATOMIC_RELAXED);
}

TEST(Migration, TheExpectedCpuSourceIsInUse)
{
    const char *want = getenv("PERCPU_EXPECT_SOURCE");
    ASSERT_NE(want, nullptr) << "ctest sets PERCPU_EXPECT_SOURCE";
    enum pcpu_cpu_source expected = !strcmp(want, "glibc") ? PCPU_CPU_SOURCE_GLIBC_RSEQ
                               : !strcmp(want, "own") ? PCPU_CPU_SOURCE_OWN_RSEQ
                                                      : PCPU_CPU_SOURCE_GETCPU;
    EXPECT_EQ(pcpu_cpu_source(), expected) << pcpu_cpu_source_name(pcpu_cpu_source());
}

TEST(Migration, IncrementsOfEveryWidthAreExact)
{
    zeroEveryCpu(&hits64);
    zeroEveryCpu(&hits32);
    zeroEveryCpu(&hits16);
    zeroEveryCpu(&hits8);
    const long per = 200000;
    hammer(per, [](long) {
        this_cpu_inc(hits64);
        this_cpu_inc(hits32);
        this_cpu_inc(hits16);
        this_cpu_inc(hits8);
    });
    const uint64_t total = static_cast<uint64_t>(per) * static_cast<uint64_t>(threadCount());
    EXPECT_EQ(sumOf(&hits64), total);
    EXPECT_EQ(sumOf(&hits32), total);
    // Narrow counters wrap per CPU; their sum is exact modulo the width.
    EXPECT_EQ(sumOf(&hits16) % 65536, total % 65536);
    EXPECT_EQ(sumOf(&hits8) % 256, total % 256);
}

TEST(Migration, DynamicCountersAreExact)
{
    auto *a = alloc_percpu(uint64_t);
    auto *b = alloc_percpu(int32_t);
    ASSERT_TRUE(a && b);
    const long per = 200000;
    hammer(per, [=](long i) {
        this_cpu_add(*a, 3);
        if (i & 1)
            this_cpu_sub(*b, 1);
        else
            this_cpu_add(*b, 2);
    });
    const int64_t n = per * threadCount();
    EXPECT_EQ(sumOf(a), static_cast<uint64_t>(3 * n));
    int64_t sb = 0;
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        sb += *per_cpu_ptr(b, c);
    EXPECT_EQ(sb, n / 2); // +2 and -1 alternately
    free_percpu(a);
    free_percpu(b);
}

TEST(Migration, PercpuCountersAreExact)
{
    // Small batches fold often; amounts of both signs, some past the batch
    // (the fold path directly), while threads migrate.
    struct percpu_counter c8, c1000;
    ASSERT_EQ(percpu_counter_init(&c8, 5, GFP_KERNEL), 0);
    ASSERT_EQ(percpu_counter_init(&c1000, 0, GFP_KERNEL), 0);
    const long per = 100000;
    hammer(per, [&](long i) {
        percpu_counter_add_batch(&c8, (i % 3 == 0) ? -2 : 3, 8);
        percpu_counter_add_batch(&c1000, (i % 50 == 0) ? 1500 : -1, 1000);
    });
    const int64_t n = per * threadCount();
    int64_t per8 = 0, per1000 = 0;
    for (long i = 0; i < per; ++i) {
        per8 += (i % 3 == 0) ? -2 : 3;
        per1000 += (i % 50 == 0) ? 1500 : -1;
    }
    EXPECT_EQ(percpu_counter_sum(&c8), 5 + per8 * threadCount());
    EXPECT_EQ(percpu_counter_sum(&c1000), per1000 * threadCount());
    // The shared count alone is off by less than the batch per CPU.
    EXPECT_LT(std::llabs(percpu_counter_read(&c8) - percpu_counter_sum(&c8)), 8ll * pcpu_nr_cpus());
    EXPECT_GT(n, 0);
    percpu_counter_destroy(&c8);
    percpu_counter_destroy(&c1000);
}

// A counter remembers the CPUs that counted, and a sum reads their deltas
// only: the CPUs this thread ran on, not every possible CPU
// (PERCPU_NR_CPUS=4096 makes 4096 of them).
TEST(Migration, PercpuCounterSumsVisitTheCpusThatCounted)
{
    const std::vector<int> cpus = percpu::test::allowedCpus();
    cpu_set_t saved;
    ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
    struct percpu_counter c;
    ASSERT_EQ(percpu_counter_init(&c, 0, GFP_KERNEL), 0);
    auto counted = [&] {
        std::vector<int> v;
        for (unsigned cpu = 0; cpu < pcpu_nr_cpus(); ++cpu)
            if (c.pcpu__counted[cpu / 64] >> (cpu % 64) & 1)
                v.push_back(static_cast<int>(cpu));
        return v;
    };
    EXPECT_TRUE(counted().empty());
    EXPECT_EQ(percpu_counter_sum(&c), 0);
    long total = 0;
    std::vector<int> ran;
    for (size_t k = 0; k < cpus.size(); ++k) {
        percpu::test::migrate(static_cast<int>(k));
        for (int i = 0; i < 5; ++i) {
            percpu_counter_add(&c, 3);
            total += 3;
        }
        ran.push_back(sched_getcpu());
        std::vector<int> sorted = ran;
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        EXPECT_EQ(counted(), sorted) << "after counting on " << k + 1 << " CPUs";
        EXPECT_EQ(percpu_counter_sum(&c), total);
    }
    sched_setaffinity(0, sizeof(saved), &saved);
    // set() clears the deltas of those CPUs, and they stay known.
    percpu_counter_set(&c, 7);
    EXPECT_EQ(percpu_counter_sum(&c), 7);
    EXPECT_EQ(counted().size(), cpus.size() < 2 ? 1u : cpus.size());
    percpu_counter_destroy(&c);
}

TEST(Migration, CmpxchgLoopsAndAddReturnAreExact)
{
    zeroEveryCpu(&cas_hits);
    zeroEveryCpu(&ret_hits);
    const long per = 100000;
    hammer(per, [](long) {
        // A compare-and-swap increment: retries until the CPU it ran on had
        // the value it read, as kernel code does with this_cpu_cmpxchg.
        long old;
        do
            old = this_cpu_read(cas_hits);
        while (this_cpu_cmpxchg(cas_hits, old, old + 1) != old);
        (void)this_cpu_add_return(ret_hits, 1);
    });
    const uint64_t total = static_cast<uint64_t>(per) * static_cast<uint64_t>(threadCount());
    EXPECT_EQ(sumOf(&cas_hits), total);
    EXPECT_EQ(sumOf(&ret_hits), total);
}

TEST(Migration, XchgNeverLosesATokenCount)
{
    // Every thread swaps its own token value in; what it gets back was put
    // there by someone (or the initial 0).  The multiset sum is conserved.
    uint64_t *slot = alloc_percpu(uint64_t);
    ASSERT_NE(slot, nullptr);
    std::atomic<uint64_t> taken{0};
    const long per = 50000;
    hammer(per, [&](long i) {
        uint64_t mine = static_cast<uint64_t>(i % 7) + 1;
        taken.fetch_add(this_cpu_xchg(*slot, mine), std::memory_order_relaxed);
        taken.fetch_sub(mine, std::memory_order_relaxed);
    });
    // put - taken = what remains in the slots
    EXPECT_EQ(sumOf(slot), static_cast<uint64_t>(0) - taken.load());
    free_percpu(slot);
}

} // namespace
