// Pools indexed by CPU and by concurrency id (<percpu/pool.h>): sizes and
// units, zeroing, bad frees, exact sums with migrating threads on every
// width, the value-returning operations, and the canonical range faulting.
// Run as pool (glibc's rseq), pool.own_rseq, pool.getcpu (atomic fallback)
// and pool.4096cpus; PERCPU_EXPECT_FAST says whether the fast path must be on.
#include <percpu/percpu.h>

#include <gtest/gtest.h>

#include "death_test_style.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <sched.h>
#include <string>
#include <sys/auxv.h>
#include <thread>
#include <vector>

namespace {

// One more than the highest CPU in /sys/devices/system/cpu/possible ("0-3,8").
unsigned realPossibleCpus()
{
    std::ifstream f("/sys/devices/system/cpu/possible");
    std::string s, tok;
    std::getline(f, s);
    unsigned n = 0;
    std::stringstream ss(s);
    while (std::getline(ss, tok, ',')) {
        size_t dash = tok.find('-');
        n = std::max(n, static_cast<unsigned>(std::stoul(dash == std::string::npos ? tok : tok.substr(dash + 1))) + 1);
    }
    return n;
}

bool kernelHasMmCid()
{
#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27
#endif
    return getauxval(AT_RSEQ_FEATURE_SIZE) >= 28;
}

struct PoolDeleter {
    void operator()(pcpu_pool *p) const { pcpu_pool_destroy(p); }
};
using PoolPtr = std::unique_ptr<pcpu_pool, PoolDeleter>;

PoolPtr make(int index, size_t size, size_t n)
{
    PoolPtr p(pcpu_pool_create(index, size, n));
    EXPECT_NE(p, nullptr) << strerror(errno);
    return p;
}

class Pool : public ::testing::TestWithParam<int> {};

TEST(PoolCreate, RejectsBadArguments)
{
    errno = 0;
    EXPECT_EQ(pcpu_pool_create(7, 8, 16), nullptr);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_EQ(pcpu_pool_create(PCPU_POOL_CPU, 0, 16), nullptr);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_EQ(pcpu_pool_create(PCPU_POOL_MM_CID, 8, 0), nullptr);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_EQ(pcpu_pool_create(PCPU_POOL_CPU, size_t{1} << 31, 1), nullptr);
    EXPECT_EQ(errno, EINVAL);
    pcpu_pool_destroy(nullptr); // ignored
}

TEST(PoolCreate, UnitsFollowTheIndex)
{
    PoolPtr cpu = make(PCPU_POOL_CPU, 8, 4);
    PoolPtr cid = make(PCPU_POOL_MM_CID, 8, 4);
    // CPU pools have a unit per possible CPU (PERCPU_NR_CPUS included);
    // concurrency ids are bounded by the real CPUs.
    EXPECT_EQ(pcpu_pool_nr_units(cpu.get()), pcpu_nr_cpus());
    EXPECT_EQ(pcpu_pool_nr_units(cid.get()), realPossibleCpus());
}

TEST(PoolCreate, FastPathAsExpected)
{
    const char *e = getenv("PERCPU_EXPECT_FAST");
    ASSERT_NE(e, nullptr) << "set PERCPU_EXPECT_FAST (ctest does)";
    PoolPtr cpu = make(PCPU_POOL_CPU, 8, 1);
    PoolPtr cid = make(PCPU_POOL_MM_CID, 8, 1);
    bool want = strcmp(e, "1") == 0;
    EXPECT_EQ(pcpu_pool_fast(cpu.get()), want ? 1 : 0);
    if (want && !kernelHasMmCid())
        GTEST_SKIP() << "this kernel has no rseq mm_cid (AT_RSEQ_FEATURE_SIZE < 28): "
                        "MM_CID pools use the atomic fallback";
    EXPECT_EQ(pcpu_pool_fast(cid.get()), want ? 1 : 0);
}

TEST_P(Pool, ObjectsAreZeroInEveryUnitAndReused)
{
    PoolPtr pool = make(GetParam(), sizeof(long) * 3, 64);
    auto *a = static_cast<long *>(pcpu_pool_alloc(pool.get()));
    ASSERT_NE(a, nullptr);
    unsigned n = pcpu_pool_nr_units(pool.get());
    for (unsigned u = 0; u < n; u++) {
        for (int k = 0; k < 3; k++) {
            EXPECT_EQ(pcpu_pool_ptr(pool.get(), a, u)[k], 0);
            pcpu_pool_ptr(pool.get(), a, u)[k] = 100 + u + k;
        }
    }
    EXPECT_EQ(pcpu_pool_free(pool.get(), a), 0);
    auto *b = static_cast<long *>(pcpu_pool_alloc(pool.get()));
    EXPECT_EQ(b, a); // the freed object comes back first
    for (unsigned u = 0; u < n; u++)
        for (int k = 0; k < 3; k++)
            EXPECT_EQ(pcpu_pool_ptr(pool.get(), b, u)[k], 0) << "unit " << u;
    // Distinct objects do not overlap.
    auto *c = static_cast<long *>(pcpu_pool_alloc(pool.get()));
    ASSERT_NE(c, nullptr);
    EXPECT_GE(reinterpret_cast<uintptr_t>(c), reinterpret_cast<uintptr_t>(b) + 3 * sizeof(long));
}

TEST_P(Pool, FullPoolSaysEnomem)
{
    PoolPtr pool = make(GetParam(), 8, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_NE(pcpu_pool_alloc(pool.get()), nullptr);
    errno = 0;
    EXPECT_EQ(pcpu_pool_alloc(pool.get()), nullptr);
    EXPECT_EQ(errno, ENOMEM);
}

TEST_P(Pool, BadFreesAreReportedAndFreeNothing)
{
    PoolPtr pool = make(GetParam(), 16, 8);
    PoolPtr other = make(GetParam(), 16, 8);
    auto *a = static_cast<long *>(pcpu_pool_alloc(pool.get()));
    ASSERT_NE(a, nullptr);
    pcpu_pool_this_add(pool.get(), a, 5);
    void *heap = malloc(16);
    long local = 0;
    void *foreign = pcpu_pool_alloc(other.get());
    void *bad[] = {heap, &local, reinterpret_cast<char *>(a) + 8, foreign,
                   pcpu_pool_ptr(pool.get(), a, 0)};
    for (void *p : bad) {
        errno = 0;
        EXPECT_EQ(pcpu_pool_free(pool.get(), p), -1) << p;
        EXPECT_EQ(errno, EINVAL);
    }
    free(heap);
    long sum = 0;
    for (unsigned u = 0; u < pcpu_pool_nr_units(pool.get()); u++)
        sum += *pcpu_pool_ptr(pool.get(), a, u);
    EXPECT_EQ(sum, 5); // still live, still intact
    EXPECT_EQ(pcpu_pool_free(pool.get(), a), 0);
    errno = 0;
    EXPECT_EQ(pcpu_pool_free(pool.get(), a), -1); // double free
    EXPECT_EQ(errno, EINVAL);
}

// Threads that hop between CPUs while they update: every update lands once.
template <typename T>
void exactSums(int index)
{
    PoolPtr pool = make(index, sizeof(T), 4);
    T *x = static_cast<T *>(pcpu_pool_alloc(pool.get()));
    ASSERT_NE(x, nullptr);
    const int threads = 4, iters = 40000;
    unsigned ncpu = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; t++) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < iters; i++) {
                if (i % 2000 == 0) {
                    cpu_set_t set;
                    CPU_ZERO(&set);
                    CPU_SET((t + i / 2000) % ncpu, &set);
                    sched_setaffinity(0, sizeof(set), &set);
                }
                pcpu_pool_this_add(pool.get(), x, 3);
                pcpu_pool_this_dec(pool.get(), x);
            }
        });
    }
    for (auto &t : ts)
        t.join();
    uint64_t sum = 0;
    for (unsigned u = 0; u < pcpu_pool_nr_units(pool.get()); u++)
        sum += *pcpu_pool_ptr(pool.get(), x, u);
    uint64_t expect = uint64_t{threads} * iters * 2;
    EXPECT_EQ(static_cast<T>(sum), static_cast<T>(expect));
}

TEST_P(Pool, ExactSumsWithMigratingThreads64) { exactSums<uint64_t>(GetParam()); }
TEST_P(Pool, ExactSumsWithMigratingThreads32) { exactSums<uint32_t>(GetParam()); }
TEST_P(Pool, ExactSumsWithMigratingThreads16) { exactSums<uint16_t>(GetParam()); }
TEST_P(Pool, ExactSumsWithMigratingThreads8) { exactSums<uint8_t>(GetParam()); }

// add_return, xchg, cmpxchg, write: exact on the unit the thread is on.  A
// CPU pool is checked on a pinned thread (its unit cannot change); for both
// kinds the values returned must account for every update.
TEST_P(Pool, ValueReturningOperations)
{
    PoolPtr pool = make(GetParam(), 8, 4);
    auto *x = static_cast<long *>(pcpu_pool_alloc(pool.get()));
    ASSERT_NE(x, nullptr);
    std::thread t([&] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        sched_setaffinity(0, sizeof(set), &set);
        long total = 0;
        for (int i = 1; i <= 1000; i++) {
            long r = pcpu_pool_this_add_return(pool.get(), x, 2);
            EXPECT_GE(r, 2);
            total += 2;
        }
        long sum = 0;
        for (unsigned u = 0; u < pcpu_pool_nr_units(pool.get()); u++)
            sum += *pcpu_pool_ptr(pool.get(), x, u);
        EXPECT_EQ(sum, total);
        if (GetParam() == PCPU_POOL_CPU) {
            // Pinned: every operation is on CPU 0's unit.
            EXPECT_EQ(*pcpu_pool_ptr(pool.get(), x, 0), total);
            EXPECT_EQ(pcpu_pool_this_xchg(pool.get(), x, 7L), total);
            EXPECT_EQ(pcpu_pool_this_cmpxchg(pool.get(), x, 6L, 9L), 7); // no store
            EXPECT_EQ(pcpu_pool_this_cmpxchg(pool.get(), x, 7L, 9L), 7); // store
            EXPECT_EQ(*pcpu_pool_ptr(pool.get(), x, 0), 9);
            pcpu_pool_this_write(pool.get(), x, 11L);
            EXPECT_EQ(*pcpu_pool_ptr(pool.get(), x, 0), 11);
            EXPECT_EQ(pcpu_pool_this_add_return(pool.get(), x, -1L), 10);
        }
    });
    t.join();
}

TEST_P(Pool, CanonicalPointerFaults)
{
    PoolPtr pool = make(GetParam(), 8, 4);
    auto *x = static_cast<volatile long *>(pcpu_pool_alloc(pool.get()));
    ASSERT_NE(x, nullptr);
    percpuDeathTestStyle(); // sanitizers run threads
    EXPECT_DEATH({ (void)*x; }, "");
}

INSTANTIATE_TEST_SUITE_P(Index, Pool, ::testing::Values(PCPU_POOL_CPU, PCPU_POOL_MM_CID),
                         [](const ::testing::TestParamInfo<int> &i) {
                             return i.param == PCPU_POOL_CPU ? std::string("cpu") : std::string("mm_cid");
                         });

} // namespace
