// libpercpu: addresses, initial values, sections, this_cpu operations,
// get_cpu_var, exports and the C++ layer.  Threads and migration are in
// migrate_test.cc, the allocator's model test in alloc_test.cc.
#include <percpu/linux.h>
#include <percpu/local_lock.h>
#include <percpu/percpu.hpp>

#include "percpu_vars.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern "C" char __per_cpu_start[], __per_cpu_end[];

// The ELF symbol of a per-CPU variable is its C name, as in the kernel: bind
// to it by that name through an asm label and compare addresses.
extern "C" int init42_by_symbol __asm__("init42");

// Defined in C++, with and without `static`.
DEFINE_PER_CPU(long, cxx_counter) = 5;
static DEFINE_PER_CPU(int, cxx_static) = 17;

namespace {

using percpu::test::PinToCurrentCpu;

template <typename P> concept Dereferenceable = requires(P p) { *p; };

size_t stride()
{
    pcpu_stats st;
    EXPECT_EQ(pcpu_get_stats(&st), 0);
    return st.unit_stride;
}

bool inBlock(const void *p)
{
    auto a = reinterpret_cast<uintptr_t>(p);
    return a >= reinterpret_cast<uintptr_t>(__per_cpu_start) &&
           a < reinterpret_cast<uintptr_t>(__per_cpu_end);
}

TEST(Units, NumberOfCpusFollowsEnvironment)
{
    unsigned expected = percpu::test::expectedCpus();
    EXPECT_EQ(pcpu_nr_cpus(), expected);
    EXPECT_EQ(static_cast<unsigned>(nr_cpu_ids), expected);
    EXPECT_EQ(static_cast<unsigned>(num_possible_cpus()), expected);
}

TEST(Units, StrideIsAPowerOfTwoAndOffsetsAreOneStrideApart)
{
    size_t s = stride();
    ASSERT_NE(s, 0u);
    EXPECT_EQ(s & (s - 1), 0u);
    for (unsigned c = 0; c + 1 < pcpu_nr_cpus(); ++c)
        ASSERT_EQ(pcpu_unit_offset[c + 1] - pcpu_unit_offset[c], s) << "cpu " << c;
}

TEST(Units, HostAndDynamicPointersFollowTheSameFormula)
{
    size_t s = stride();
    long *dyn = alloc_percpu(long);
    ASSERT_NE(dyn, nullptr);
    for (unsigned c = 0; c + 1 < pcpu_nr_cpus(); ++c) {
        auto h0 = reinterpret_cast<uintptr_t>(&per_cpu(init42, c));
        auto h1 = reinterpret_cast<uintptr_t>(&per_cpu(init42, c + 1));
        auto d0 = reinterpret_cast<uintptr_t>(per_cpu_ptr(dyn, c));
        auto d1 = reinterpret_cast<uintptr_t>(per_cpu_ptr(dyn, c + 1));
        ASSERT_EQ(h1 - h0, s);
        ASSERT_EQ(d1 - d0, s);
        ASSERT_EQ(h0 - reinterpret_cast<uintptr_t>(&init42), pcpu_unit_offset[c]);
        ASSERT_EQ(d0 - reinterpret_cast<uintptr_t>(dyn), pcpu_unit_offset[c]);
    }
    // A copy is never the canonical template itself.
    EXPECT_NE(static_cast<void *>(&per_cpu(init42, 0)), static_cast<void *>(&init42));
    free_percpu(dyn);
}

TEST(Units, ValuesPerCpuAreIndependent)
{
    unsigned n = pcpu_nr_cpus();
    for (unsigned c = 0; c < n; ++c)
        per_cpu(zeroed, c) = 1000 + c;
    int *dyn = alloc_percpu(int);
    ASSERT_NE(dyn, nullptr);
    for (unsigned c = 0; c < n; ++c)
        *per_cpu_ptr(dyn, c) = -static_cast<int>(c);
    for (unsigned c = 0; c < n; ++c) {
        ASSERT_EQ(per_cpu(zeroed, c), 1000 + static_cast<long>(c));
        ASSERT_EQ(*per_cpu_ptr(dyn, c), -static_cast<int>(c));
    }
    for (unsigned c = 0; c < n; ++c)
        per_cpu(zeroed, c) = 0;
    free_percpu(dyn);
}

TEST(StaticBlock, InitialValuesAppearOnEveryCpu)
{
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c) {
        ASSERT_EQ(per_cpu(init42, c), 42) << "cpu " << c;
        ASSERT_EQ(per_cpu(points_to_global, c), &plain_global);
        ASSERT_EQ(per_cpu(pair, c).a, 11);
        ASSERT_EQ(per_cpu(pair, c).b, -3);
        ASSERT_EQ(per_cpu(array4, c)[3], 4);
        ASSERT_EQ(per_cpu(first_var, c), 0x1111u);
        ASSERT_STREQ(per_cpu(page_var, c), "page");
        ASSERT_EQ(per_cpu(mostly_var, c), 0x2222u);
        ASSERT_EQ(per_cpu(shared_var, c), 0x3333u);
        ASSERT_EQ(per_cpu(aligned_var, c), 0x4444u);
        ASSERT_EQ(per_cpu(cxx_counter, c), 5);
        ASSERT_EQ(per_cpu(cxx_static, c), 17);
        ASSERT_EQ(file_local_value(c), 99);
    }
}

TEST(StaticBlock, SymbolsCarryThePerCpuPrefix)
{
    EXPECT_EQ(&init42_by_symbol, &init42);
}

TEST(StaticBlock, SectionsAreInCanonicalOrderInsideTheBlock)
{
    const void *vars[] = {&first_var, &page_var, &mostly_var, &init42, &shared_var};
    for (const void *v : vars)
        EXPECT_TRUE(inBlock(v)) << v;
    EXPECT_TRUE(inBlock(&cxx_static));
    EXPECT_TRUE(inBlock(file_local_address()));
    // first < page_aligned < read_mostly < plain < shared_aligned
    for (size_t i = 0; i + 1 < sizeof(vars) / sizeof(vars[0]); ++i)
        EXPECT_LT(reinterpret_cast<uintptr_t>(vars[i]), reinterpret_cast<uintptr_t>(vars[i + 1]))
            << "group " << i;
}

TEST(StaticBlock, AlignmentCarriesOverToEveryCopy)
{
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c) {
        ASSERT_EQ(reinterpret_cast<uintptr_t>(&per_cpu(page_var, c)) % PCPU_PAGE_BYTES, 0u);
        ASSERT_EQ(reinterpret_cast<uintptr_t>(&per_cpu(shared_var, c)) % PCPU_CACHELINE_BYTES, 0u);
        ASSERT_EQ(reinterpret_cast<uintptr_t>(&per_cpu(aligned_var, c)) % PCPU_CACHELINE_BYTES, 0u);
    }
}

TEST(Stats, StaticBlockAndDynamicUsageAreReported)
{
    pcpu_stats before, after;
    ASSERT_EQ(pcpu_get_stats(&before), 0);
    EXPECT_EQ(before.static_bytes, static_cast<size_t>(__per_cpu_end - __per_cpu_start));
    EXPECT_EQ(before.nr_units, pcpu_nr_cpus());
    EXPECT_GE(before.committed_per_unit, before.static_bytes);
    EXPECT_EQ(before.committed_bytes, before.committed_per_unit * before.nr_units);
    void *p = pcpu_alloc(100, 0);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(pcpu_get_stats(&after), 0);
    EXPECT_EQ(after.dynamic_bytes, before.dynamic_bytes + 104); // rounded to 8
    EXPECT_EQ(after.dynamic_allocations, before.dynamic_allocations + 1);
    EXPECT_EQ(pcpu_free(p), 0);
    ASSERT_EQ(pcpu_get_stats(&after), 0);
    EXPECT_EQ(after.dynamic_bytes, before.dynamic_bytes);
    EXPECT_EQ(pcpu_get_stats(nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
}

// Single-threaded semantics of every operation and width, on a thread pinned
// to one CPU so that "the current CPU's copy" is known.
template <typename T> void checkOps(T *canon)
{
    PinToCurrentCpu pin;
    const int cpu = pin.cpu();
    T *mine = per_cpu_ptr(canon, cpu);
    const T start = *mine;

    pcpu_this_add(canon, static_cast<T>(5));
    EXPECT_EQ(*mine, static_cast<T>(start + 5));
    pcpu_this_sub(canon, static_cast<T>(2));
    EXPECT_EQ(*mine, static_cast<T>(start + 3));
    pcpu_this_inc(canon);
    pcpu_this_dec(canon);
    pcpu_this_dec(canon);
    EXPECT_EQ(*mine, static_cast<T>(start + 2));
    EXPECT_EQ(pcpu_this_add_return(canon, static_cast<T>(10)), static_cast<T>(start + 12));
    EXPECT_EQ(pcpu_this_read(canon), static_cast<T>(start + 12));
    pcpu_this_write(canon, static_cast<T>(0x7f));
    EXPECT_EQ(*mine, static_cast<T>(0x7f));
    EXPECT_EQ(pcpu_this_xchg(canon, static_cast<T>(0x11)), static_cast<T>(0x7f));
    EXPECT_EQ(*mine, static_cast<T>(0x11));
    // cmpxchg: a failing compare stores nothing and returns what it saw.
    EXPECT_EQ(pcpu_this_cmpxchg(canon, static_cast<T>(0x12), static_cast<T>(0x55)), static_cast<T>(0x11));
    EXPECT_EQ(*mine, static_cast<T>(0x11));
    EXPECT_EQ(pcpu_this_cmpxchg(canon, static_cast<T>(0x11), static_cast<T>(0x55)), static_cast<T>(0x11));
    EXPECT_EQ(*mine, static_cast<T>(0x55));
    // Wrap-around at the width: proves the operation is done at that width.
    pcpu_this_write(canon, static_cast<T>(~T{0}));
    pcpu_this_inc(canon);
    EXPECT_EQ(*mine, T{0});
    // No other CPU's copy was touched.
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c) {
        if (static_cast<int>(c) != cpu) {
            ASSERT_EQ(*per_cpu_ptr(canon, c), T{0}) << "cpu " << c;
        }
    }
}

TEST(ThisCpu, EveryOperationAtEveryWidthOnStaticVariables)
{
    checkOps(&w8);
    checkOps(&w16);
    checkOps(&w32);
    checkOps(&w64);
}

TEST(ThisCpu, EveryOperationAtEveryWidthOnDynamicObjects)
{
    auto *a = static_cast<uint8_t *>(pcpu_alloc(1, 1));
    auto *b = static_cast<uint16_t *>(pcpu_alloc(2, 2));
    auto *c = static_cast<uint32_t *>(pcpu_alloc(4, 4));
    auto *d = static_cast<uint64_t *>(pcpu_alloc(8, 8));
    ASSERT_TRUE(a && b && c && d);
    checkOps(a);
    checkOps(b);
    checkOps(c);
    checkOps(d);
    for (void *p : {static_cast<void *>(a), static_cast<void *>(b), static_cast<void *>(c),
                    static_cast<void *>(d)})
        EXPECT_EQ(pcpu_free(p), 0);
}

TEST(ThisCpu, KernelSpellingsWorkOnLvalues)
{
    PinToCurrentCpu pin;
    int cpu = pin.cpu();
    long before = per_cpu(cxx_counter, cpu);
    this_cpu_inc(cxx_counter);
    this_cpu_add(cxx_counter, 10);
    this_cpu_sub(cxx_counter, 3);
    EXPECT_EQ(this_cpu_read(cxx_counter), before + 8);
    EXPECT_EQ(this_cpu_inc_return(cxx_counter), before + 9);
    EXPECT_EQ(this_cpu_dec_return(cxx_counter), before + 8);
    this_cpu_write(cxx_counter, before);
    EXPECT_EQ(per_cpu(cxx_counter, cpu), before);
    struct test_pair *pp = this_cpu_ptr(&pair);
    EXPECT_EQ(pp, &per_cpu(pair, cpu));
    EXPECT_EQ(raw_cpu_ptr(&pair), &per_cpu(pair, cpu));
    EXPECT_EQ(smp_processor_id(), cpu);
    // A pointer-valued per-CPU variable.
    int local = 0;
    int *old = this_cpu_xchg(points_to_global, &local);
    EXPECT_EQ(old, &plain_global);
    EXPECT_EQ(per_cpu(points_to_global, cpu), &local);
    this_cpu_write(points_to_global, &plain_global);
    // A field of a per-CPU struct.
    this_cpu_add(pair.b, 3);
    EXPECT_EQ(per_cpu(pair, cpu).b, 0);
    this_cpu_sub(pair.b, 3);
}

TEST(GetCpuVar, GivesExclusiveUseOfOneCpusCopy)
{
    // Plain (non-atomic) increments under get_cpu_var from more threads than
    // CPUs, while migrating: exact only if the per-CPU lock excludes them.
    long *counter = alloc_percpu(long);
    ASSERT_NE(counter, nullptr);
    const int threads = static_cast<int>(2 * std::thread::hardware_concurrency() + 2);
    const long per = 20000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
            for (long i = 0; i < per; ++i) {
                if (i % 1000 == 0)
                    percpu::test::migrate(t + static_cast<int>(i / 1000));
                long *mine = get_cpu_ptr(counter);
                long v = *mine; // the race window a lock must close
                std::atomic_signal_fence(std::memory_order_seq_cst);
                *mine = v + 1;
                put_cpu_ptr(counter);
            }
        });
    for (auto &t : ts)
        t.join();
    long total = 0;
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        total += *per_cpu_ptr(counter, c);
    EXPECT_EQ(total, threads * per);
    free_percpu(counter);
}

TEST(GetCpuVar, NestsAndKeepsTheFirstCpu)
{
    int a = get_cpu();
    long &v = get_cpu_var(cxx_counter);
    EXPECT_EQ(&v, &per_cpu(cxx_counter, a));
    int b = get_cpu();
    EXPECT_EQ(a, b);
    put_cpu();
    put_cpu_var(cxx_counter);
    put_cpu();
}

namespace {

struct HeldStock {
    local_lock_t lock;
    long plain;   // updated through this_cpu_ptr() under the lock
    long viaOps;  // the same amounts through this_cpu operations
    long shared;  // this_cpu_inc by holders and by threads that do not hold
};
DEFINE_PER_CPU(HeldStock, heldStock);

cpu_set_t oneCpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return set;
}

// Runs body(a) on a thread that holds CPU a and that the scheduler has
// moved to CPU b (here another thread changes its affinity, as the kernel's
// load balancing might move it); body runs before the thread touches any
// per-CPU data, so nothing has moved it back yet.  RETURNS {a, b}.
template <typename Body>
std::pair<int, int> onAHolderMovedAway(const std::vector<int> &cpus, Body body)
{
    std::atomic<pid_t> tid{0};
    std::atomic<int> held{-1}, moved{0};
    std::thread t([&] {
        cpu_set_t start = oneCpu(cpus[0]);
        ASSERT_EQ(sched_setaffinity(0, sizeof(start), &start), 0);
        tid = static_cast<pid_t>(syscall(SYS_gettid));
        int a = get_cpu();
        held = a;
        while (!moved)
            std::this_thread::yield();
        while (sched_getcpu() == a) // the move takes effect at the next switch
            std::this_thread::yield();
        body(a);
        put_cpu();
    });
    while (held < 0)
        std::this_thread::yield();
    const int a = held;
    const int b = a == cpus[0] ? cpus[1] : cpus[0];
    cpu_set_t away = oneCpu(b);
    EXPECT_EQ(sched_setaffinity(tid, sizeof(away), &away), 0);
    moved = 1;
    t.join();
    return {a, b};
}

} // namespace

// Every this_cpu operation of a thread that holds a CPU names the CPU it
// holds, wherever the scheduler moved it.
TEST(GetCpuVar, AThreadMovedAwayStillUpdatesTheCpuItHolds)
{
    const std::vector<int> cpus = percpu::test::allowedCpus();
    if (cpus.size() < 2)
        GTEST_SKIP() << "needs two CPUs to move a thread between";
    long before[2];
    for (int i = 0; i < 2; ++i)
        before[i] = per_cpu(heldStock, cpus[i]).viaOps + per_cpu(heldStock, cpus[i]).shared +
                    per_cpu(heldStock, cpus[i]).plain;
    const auto [a, b] = onAHolderMovedAway(cpus, [](int a) {
        EXPECT_EQ(smp_processor_id(), a);
        EXPECT_EQ(this_cpu_ptr(&heldStock), per_cpu_ptr(&heldStock, a));
        this_cpu_inc(heldStock.viaOps);
        __this_cpu_add(heldStock.viaOps, 2);
        EXPECT_EQ(this_cpu_add_return(heldStock.viaOps, 4), 7);
        EXPECT_EQ(this_cpu_xchg(heldStock.shared, 10), 0);
        EXPECT_EQ(this_cpu_cmpxchg(heldStock.shared, 10, 11), 10);
        EXPECT_EQ(this_cpu_cmpxchg(heldStock.shared, 10, 12), 11);
        this_cpu_or(heldStock.plain, 6);
        this_cpu_and(heldStock.plain, 3);
        EXPECT_EQ(this_cpu_read(heldStock.shared), 11);
    });
    EXPECT_EQ(per_cpu(heldStock, a).viaOps, 7);
    EXPECT_EQ(per_cpu(heldStock, a).shared, 11);
    EXPECT_EQ(per_cpu(heldStock, a).plain, 2);
    const int bIndex = b == cpus[0] ? 0 : 1;
    EXPECT_EQ(per_cpu(heldStock, b).viaOps + per_cpu(heldStock, b).shared + per_cpu(heldStock, b).plain,
              before[bIndex]);
    per_cpu(heldStock, a).viaOps = per_cpu(heldStock, a).shared = per_cpu(heldStock, a).plain = 0;
}

// percpu_counter updates of a thread that holds a CPU go to that CPU's
// delta, wherever the thread runs, and fold when that delta reaches the
// batch: as in the kernel, where get_cpu() keeps them on one CPU (kernel
// code under preempt_disable() relies on when a fold happens).
TEST(GetCpuVar, AHoldersCounterUpdatesFoldOnTheCpuItHolds)
{
    const std::vector<int> cpus = percpu::test::allowedCpus();
    if (cpus.size() < 2)
        GTEST_SKIP() << "needs two CPUs to move a thread between";
    struct percpu_counter counter;
    ASSERT_EQ(percpu_counter_init(&counter, 0, GFP_KERNEL), 0);
    const auto [a, b] = onAHolderMovedAway(cpus, [&](int) {
        percpu_counter_add_batch(&counter, 3, 8);
        percpu_counter_add_batch(&counter, 4, 8);
        EXPECT_EQ(percpu_counter_read(&counter), 0) << "7 is below the batch";
        percpu_counter_add_batch(&counter, 1, 8);
        EXPECT_EQ(percpu_counter_read(&counter), 8) << "the held CPU's delta reached the batch";
        percpu_counter_add_batch(&counter, 2, 8);
    });
    EXPECT_EQ(*per_cpu_ptr(counter.counters, a), 2);
    EXPECT_EQ(*per_cpu_ptr(counter.counters, b), 0);
    EXPECT_EQ(percpu_counter_sum(&counter), 10);
    percpu_counter_destroy(&counter);
}

// local_lock sections while another thread moves the holders between CPUs at
// random, and threads that take no lock use this_cpu_inc on the same data:
// the section's plain update and its this_cpu operation land on the same
// CPU's copy, the plain updates of two holders never interleave, and the
// holders' this_cpu operations are exact against the other threads there.
TEST(LocalLock, SectionsStayOnTheirCpuWhileTheSchedulerMovesThem)
{
    const std::vector<int> cpus = percpu::test::allowedCpus();
    const int holders = static_cast<int>(2 * cpus.size() + 1), others = 2;
    const long per = 20000;
    std::atomic<bool> stop{false};
    std::atomic<int> ready{0};
    std::vector<std::atomic<pid_t>> tids(holders);
    std::vector<std::thread> ts;
    for (int t = 0; t < holders; ++t)
        ts.emplace_back([&, t] {
            tids[t] = static_cast<pid_t>(syscall(SYS_gettid));
            ++ready;
            for (long i = 0; i < per; ++i) {
                local_lock(&heldStock.lock);
                HeldStock *s = this_cpu_ptr(&heldStock);
                long v = s->plain; // the window a lock must close
                std::atomic_signal_fence(std::memory_order_seq_cst);
                if (i % 64 == 0)
                    std::this_thread::yield(); // a chance to be moved inside
                s->plain = v + 1;
                __this_cpu_inc(heldStock.viaOps);
                this_cpu_inc(heldStock.shared);
                local_unlock(&heldStock.lock);
            }
        });
    for (int t = 0; t < others; ++t)
        ts.emplace_back([&] {
            for (long i = 0; i < per * 4; ++i)
                this_cpu_inc(heldStock.shared);
        });
    std::thread shuffler([&] {
        while (ready < holders)
            std::this_thread::yield();
        unsigned k = 0;
        while (!stop) {
            for (int t = 0; t < holders; ++t) {
                cpu_set_t set = oneCpu(cpus[(k + static_cast<unsigned>(t)) % cpus.size()]);
                (void)sched_setaffinity(tids[t], sizeof(set), &set);
            }
            ++k;
            std::this_thread::yield();
        }
    });
    for (auto &t : ts)
        t.join();
    stop = true;
    shuffler.join();
    long plain = 0, ops = 0, shared = 0;
    int cpu;
    for_each_possible_cpu(cpu) {
        const HeldStock &s = per_cpu(heldStock, cpu);
        EXPECT_EQ(s.plain, s.viaOps) << "CPU " << cpu;
        EXPECT_EQ(s.lock.pcpu__depth, 0u) << "CPU " << cpu;
        plain += s.plain;
        ops += s.viaOps;
        shared += s.shared;
    }
    EXPECT_EQ(plain, holders * per);
    EXPECT_EQ(ops, holders * per);
    EXPECT_EQ(shared, holders * per + others * per * 4);
    for_each_possible_cpu(cpu) per_cpu(heldStock, cpu) = HeldStock{};
}

TEST(Cpus, OnlineIterationVisitsOnlineCpusOnly)
{
    int cpu;
    unsigned count = 0;
    for_each_online_cpu(cpu) {
        EXPECT_TRUE(cpu_online(cpu));
        ++count;
    }
    cpu_set_t set;
    ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
    EXPECT_GE(count, static_cast<unsigned>(CPU_COUNT(&set)));
    EXPECT_LE(count, pcpu_nr_cpus());
    EXPECT_FALSE(cpu_online(pcpu_nr_cpus()));
    int possible = 0;
    for_each_possible_cpu(cpu)++ possible;
    EXPECT_EQ(static_cast<unsigned>(possible), pcpu_nr_cpus());
}

// A sysfs CPU list ("0-3,8") as a set, read here independently of the
// runtime.
std::set<int> sysfsCpus(const char *name)
{
    std::ifstream in(std::string("/sys/devices/system/cpu/") + name);
    std::string list;
    std::getline(in, list);
    std::set<int> cpus;
    std::stringstream ss(list);
    for (std::string part; std::getline(ss, part, ',');) {
        if (part.empty())
            continue;
        const size_t dash = part.find('-');
        const int a = std::stoi(part.substr(0, dash));
        const int b = dash == std::string::npos ? a : std::stoi(part.substr(dash + 1));
        for (int c = a; c <= b; ++c)
            cpus.insert(c);
    }
    return cpus;
}

void expectMasksAsSysfs(const char *when)
{
    const std::set<int> online = sysfsCpus("online"), present = sysfsCpus("present");
    ASSERT_FALSE(online.empty()) << "cannot read /sys/devices/system/cpu/online";
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c) {
        EXPECT_EQ(cpu_online(c), online.count(static_cast<int>(c)) == 1) << when << ", CPU " << c;
        EXPECT_EQ(cpu_present(c), present.count(static_cast<int>(c)) == 1) << when << ", CPU " << c;
    }
}

// The masks are what sysfs says: read from the affinity mask when the
// thread may run everywhere, from the files when it may not.
TEST(Cpus, OnlineAndPresentMasksAreSysfs)
{
    pcpu_init();
    expectMasksAsSysfs("at start-up");
    cpu_set_t all, one;
    ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &all)) {
            CPU_SET(c, &one);
            break;
        }
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    EXPECT_EQ(pcpu_refresh_online(), 0);
    expectMasksAsSysfs("refreshed on one CPU");
    ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
    EXPECT_EQ(pcpu_refresh_online(), 0);
    expectMasksAsSysfs("refreshed again");
}

TEST(Exports, HostExportTableHasTheRecords)
{
    const pcpu_export *e = pcpu_host_export("init42");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->kind, static_cast<uint32_t>(PCPU_EXPORT_PER_CPU));
    EXPECT_EQ(e->addr, static_cast<const void *>(&init42));
    EXPECT_EQ(e->gpl_only, 0u);
    e = pcpu_host_export("shared_var");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->gpl_only, 1u);
    e = pcpu_host_export("exported_function");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->kind, static_cast<uint32_t>(PCPU_EXPORT_PLAIN));
    EXPECT_EQ(reinterpret_cast<int (*)(int)>(const_cast<void *>(e->addr))(1), 2);
    EXPECT_EQ(pcpu_host_export("per_cpu__init42"), nullptr); // the 2006 spelling is not exported
    EXPECT_EQ(pcpu_host_export("nonexistent"), nullptr);
}

TEST(CxxLayer, TypedPointerAndSum)
{
    percpu::ptr<long> p(&cxx_counter);
    for (unsigned c = 0; c < percpu::nr_cpus(); ++c)
        p.on(c) = 2;
    EXPECT_EQ(p.sum(), 2L * percpu::nr_cpus());
    p.add(5);
    EXPECT_EQ(p.sum(), 2L * percpu::nr_cpus() + 5);
    for (unsigned c = 0; c < percpu::nr_cpus(); ++c)
        p.on(c) = 5;
    EXPECT_EQ(p.at(1 % percpu::nr_cpus()), &per_cpu(cxx_counter, 1 % percpu::nr_cpus()));
    static_assert(!Dereferenceable<percpu::ptr<long>>, "a canonical pointer cannot be dereferenced");
}

TEST(CxxLayer, UniquePtrFreesItsObject)
{
    pcpu_stats a, b;
    ASSERT_EQ(pcpu_get_stats(&a), 0);
    {
        auto u = percpu::make_unique<uint64_t>();
        EXPECT_EQ(u->sum(), 0u);
        u->inc();
        EXPECT_EQ(u->sum(), 1u);
        ASSERT_EQ(pcpu_get_stats(&b), 0);
        EXPECT_EQ(b.dynamic_allocations, a.dynamic_allocations + 1);
    }
    ASSERT_EQ(pcpu_get_stats(&b), 0);
    EXPECT_EQ(b.dynamic_allocations, a.dynamic_allocations);
}

} // namespace
