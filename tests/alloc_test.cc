// The offset allocator behind pcpu_alloc(), checked against a simple model:
// no two live objects overlap, alignment is kept, memory is zero on every
// CPU when handed out (also after reuse), contents survive other operations,
// and space comes back after free.  ctest also runs it with
// PERCPU_NR_CPUS=4096 and with a small PERCPU_STRIDE (chunk growth).
#include <percpu/percpu.h>

#include "test_util.h"

#include <gtest/gtest.h>

#include "death_test_style.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

struct Live {
    size_t size;
    size_t align;
    unsigned char fill;
};

pcpu_stats stats()
{
    pcpu_stats st;
    EXPECT_EQ(pcpu_get_stats(&st), 0);
    return st;
}

// CPUs whose copies are checked: all of them up to 64 units, else a sample
// that includes the first and the last unit.
std::vector<unsigned> sampleCpus()
{
    std::vector<unsigned> v;
    unsigned n = pcpu_nr_cpus();
    if (n <= 64) {
        for (unsigned c = 0; c < n; ++c)
            v.push_back(c);
    } else {
        for (unsigned c : {0u, 1u, 2u, n / 3, n / 2, n - 2, n - 1})
            v.push_back(c);
    }
    return v;
}

bool copyIs(void *canon, unsigned cpu, size_t size, unsigned char byte)
{
    auto *p = static_cast<unsigned char *>(pcpu_ptr(canon, cpu));
    for (size_t i = 0; i < size; ++i)
        if (p[i] != byte)
            return false;
    return true;
}

void fillCopies(void *canon, const std::vector<unsigned> &cpus, size_t size, unsigned char byte)
{
    for (unsigned c : cpus)
        std::memset(pcpu_ptr(canon, c), byte, size);
}

TEST(Allocator, RandomSequencesMatchTheModel)
{
    const auto cpus = sampleCpus();
    const pcpu_stats base = stats();
    std::mt19937_64 rng(12345);
    std::map<uintptr_t, Live> live;
    const size_t aligns[] = {0, 1, 2, 8, 16, 64, 256, 4096};
    const int ops = pcpu_nr_cpus() > 64 ? 4000 : 20000;
    unsigned char nextFill = 1;

    for (int i = 0; i < ops; ++i) {
        bool doAlloc = live.empty() || rng() % 100 < 55;
        if (doAlloc) {
            size_t size = rng() % 4 == 0 ? 1 + rng() % 6000 : 1 + rng() % 300;
            size_t align = aligns[rng() % (sizeof(aligns) / sizeof(aligns[0]))];
            void *p = pcpu_alloc(size, align);
            ASSERT_NE(p, nullptr) << "size " << size << " align " << align;
            auto a = reinterpret_cast<uintptr_t>(p);
            size_t effAlign = align ? align : 8;
            ASSERT_EQ(a % effAlign, 0u) << "size " << size << " align " << align;
            // No overlap with the neighbours in address order.
            auto next = live.lower_bound(a);
            if (next != live.end()) {
                ASSERT_LE(a + size, next->first) << "overlaps the next object";
            }
            if (next != live.begin()) {
                auto prev = std::prev(next);
                ASSERT_LE(prev->first + prev->second.size, a) << "overlaps the previous object";
            }
            for (unsigned c : cpus)
                ASSERT_TRUE(copyIs(p, c, size, 0)) << "not zeroed on cpu " << c;
            unsigned char fill = nextFill++;
            if (!nextFill)
                nextFill = 1;
            fillCopies(p, cpus, size, fill);
            live[a] = {size, align, fill};
        } else {
            auto it = live.begin();
            std::advance(it, static_cast<long>(rng() % live.size()));
            void *p = reinterpret_cast<void *>(it->first);
            for (unsigned c : cpus)
                ASSERT_TRUE(copyIs(p, c, it->second.size, it->second.fill))
                    << "contents changed on cpu " << c;
            ASSERT_EQ(pcpu_free(p), 0);
            live.erase(it);
        }
    }
    pcpu_stats mid = stats();
    EXPECT_EQ(mid.dynamic_allocations, base.dynamic_allocations + live.size());
    for (auto &[a, l] : live)
        ASSERT_EQ(pcpu_free(reinterpret_cast<void *>(a)), 0);

    // Space comes back: usage returns to where it started, and one object as
    // large as everything allocated at the peak fits without a new chunk.
    pcpu_stats after = stats();
    EXPECT_EQ(after.dynamic_bytes, base.dynamic_bytes);
    EXPECT_EQ(after.used_bytes, base.used_bytes);
    size_t big = std::min<size_t>(after.unit_stride / 2, 4u << 20);
    void *p = pcpu_alloc(big, PCPU_PAGE_BYTES);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(stats().nr_chunks, after.nr_chunks);
    for (unsigned c : cpus)
        ASSERT_TRUE(copyIs(p, c, big, 0)) << "reused space not zeroed on cpu " << c;
    EXPECT_EQ(pcpu_free(p), 0);
}

TEST(Allocator, FreedSpaceIsZeroedBeforeReuse)
{
    const auto cpus = sampleCpus();
    const size_t large = std::min<size_t>(70000, stats().unit_stride / 2);
    for (size_t size : {size_t{8}, size_t{24}, size_t{256}, size_t{1000}, large}) {
        void *p = pcpu_alloc(size, 8);
        ASSERT_NE(p, nullptr);
        fillCopies(p, cpus, size, 0xAB);
        ASSERT_EQ(pcpu_free(p), 0);
        void *q = pcpu_alloc(size, 8);
        ASSERT_NE(q, nullptr);
        EXPECT_EQ(q, p) << "same size should reuse the same space";
        for (unsigned c : cpus)
            ASSERT_TRUE(copyIs(q, c, size, 0)) << "size " << size << " cpu " << c;
        ASSERT_EQ(pcpu_free(q), 0);
    }
}

TEST(Allocator, RejectsBadArguments)
{
    errno = 0;
    EXPECT_EQ(pcpu_alloc(0, 8), nullptr);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_EQ(pcpu_alloc(8, 3), nullptr);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_EQ(pcpu_alloc(8, 2 * PCPU_PAGE_BYTES), nullptr);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_EQ(pcpu_alloc(stats().unit_stride + 1, 8), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(pcpu_free(nullptr), 0);
}

TEST(Allocator, DoubleFreeAndForeignPointersAreReported)
{
    void *p = pcpu_alloc(16, 8);
    void *q = pcpu_alloc(16, 8); // keeps p's block from merging away
    ASSERT_TRUE(p && q);
    ASSERT_EQ(pcpu_free(p), 0);

    testing::internal::CaptureStderr();
    errno = 0;
    EXPECT_EQ(pcpu_free(p), -1);
    EXPECT_EQ(errno, EINVAL);
    std::string msg = testing::internal::GetCapturedStderr();
    EXPECT_NE(msg.find("double free"), std::string::npos) << msg;

    int onStack = 0;
    testing::internal::CaptureStderr();
    EXPECT_EQ(pcpu_free(&onStack), -1);
    msg = testing::internal::GetCapturedStderr();
    EXPECT_NE(msg.find("not a per-CPU pointer"), std::string::npos) << msg;

    testing::internal::CaptureStderr();
    EXPECT_EQ(pcpu_free(static_cast<char *>(q) + 8), -1);
    msg = testing::internal::GetCapturedStderr();
    EXPECT_NE(msg.find("not the start of a live per-CPU allocation"), std::string::npos) << msg;

    testing::internal::CaptureStderr();
    EXPECT_EQ(pcpu_free(static_cast<char *>(q) + 3), -1);
    msg = testing::internal::GetCapturedStderr();
    EXPECT_NE(msg.find("not the start"), std::string::npos) << msg;

    // The failed frees changed nothing: q is intact and still freeable once.
    EXPECT_EQ(pcpu_free(q), 0);
}

// Runs `body` in a fresh copy of this test binary (gtest re-executes it), so
// that start-up settings and the allocator's state are its own.
template <typename F> void inFreshProcess(F body, int expectedExit, const char *stderrRegex)
{
    percpuDeathTestStyle();
    EXPECT_EXIT(body(), testing::ExitedWithCode(expectedExit), stderrRegex);
}

TEST(AllocatorProcess, DoubleFreeAbortsWhenAsked)
{
    PERCPU_SKIP_UNLESS_FRESH_PROCESS();
    percpuDeathTestStyle();
    setenv("PERCPU_ABORT_ON_BAD_FREE", "1", 1);
    EXPECT_DEATH(
        {
            void *p = pcpu_alloc(8, 8);
            pcpu_free(p);
            pcpu_free(p); // must not return
            fprintf(stderr, "second free returned\n");
            _exit(0);
        },
        "double free of 0x[0-9a-f]+");
    unsetenv("PERCPU_ABORT_ON_BAD_FREE");
}

TEST(AllocatorProcess, CommittedMemoryTracksUse)
{
    PERCPU_SKIP_UNLESS_FRESH_PROCESS();
    // In a fresh process: 10,000 small objects of 8..32 bytes; committed
    // bytes per unit grow by what they take rounded to a page, not by a
    // reserve, and the slack stays under one page per unit.
    inFreshProcess(
        [] {
            pcpu_stats base;
            pcpu_get_stats(&base);
            size_t requested = 0;
            for (int i = 0; i < 10000; ++i) {
                size_t size = 8 + static_cast<size_t>(i % 4) * 8;
                if (!pcpu_alloc(size, 8)) {
                    fprintf(stderr, "allocation %d failed\n", i);
                    _exit(1);
                }
                requested += size;
            }
            pcpu_stats st;
            pcpu_get_stats(&st);
            size_t total = st.committed_per_unit;
            size_t needed = base.static_bytes + requested;
            fprintf(stderr, "committed %zu per unit for %zu bytes\n", total, needed);
            _exit(total >= needed && total - needed < 2 * PCPU_PAGE_BYTES ? 0 : 1);
        },
        0, "committed [0-9]+ per unit");
}

TEST(Allocator, GrowsPastTheFirstChunk)
{
    const pcpu_stats base = stats();
    const size_t objBytes = 4096;
    // Allocate until two more chunks had to be mapped (bounded).
    const size_t limit = (base.nr_chunks + 3) * (base.unit_stride / objBytes) + 64;
    ASSERT_LE(limit, 200000u) << "run with a small PERCPU_STRIDE (ctest uses 64K)";
    std::vector<void *> objs;
    while (stats().nr_chunks < base.nr_chunks + 2) {
        ASSERT_LT(objs.size(), limit) << "no new chunk was mapped";
        void *p = pcpu_alloc(objBytes, 8);
        ASSERT_NE(p, nullptr) << objs.size();
        objs.push_back(p);
    }
    const size_t count = objs.size();
    pcpu_stats grown = stats();
    EXPECT_GE(grown.nr_chunks, base.nr_chunks + 2);
    // The invariant holds in every chunk: copies one stride apart, distinct,
    // writable, and each canonical pointer maps to its own memory.
    for (void *p : {objs.front(), objs[count / 2], objs.back()}) {
        for (unsigned c = 0; c + 1 < pcpu_nr_cpus() && c < 8; ++c) {
            auto d = reinterpret_cast<uintptr_t>(pcpu_ptr(p, c + 1)) -
                     reinterpret_cast<uintptr_t>(pcpu_ptr(p, c));
            ASSERT_EQ(d, grown.unit_stride);
        }
        for (unsigned c : sampleCpus())
            *static_cast<unsigned *>(pcpu_ptr(p, c)) = c + 1;
    }
    for (void *p : {objs.front(), objs[count / 2], objs.back()})
        for (unsigned c : sampleCpus())
            ASSERT_EQ(*static_cast<unsigned *>(pcpu_ptr(p, c)), c + 1);
    for (void *p : objs)
        ASSERT_EQ(pcpu_free(p), 0);
    // Freed space in the later chunks is reused rather than mapping more.
    for (size_t i = 0; i < count; ++i) {
        objs[i] = pcpu_alloc(objBytes, 8);
        ASSERT_NE(objs[i], nullptr);
    }
    EXPECT_EQ(stats().nr_chunks, grown.nr_chunks);
    for (void *p : objs)
        ASSERT_EQ(pcpu_free(p), 0);
}

TEST(Allocator, ConcurrentThreadsKeepTheirObjectsIntact)
{
    const int threads = 4;
    const auto cpus = sampleCpus();
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            std::vector<std::pair<void *, size_t>> mine;
            auto fill = static_cast<unsigned char>(t + 1);
            for (int i = 0; i < 3000; ++i) {
                if (mine.empty() || rng() % 2) {
                    size_t size = 1 + rng() % 200;
                    void *p = pcpu_alloc(size, 8);
                    if (!p || !copyIs(p, cpus.front(), size, 0)) {
                        ++failures;
                        return;
                    }
                    fillCopies(p, cpus, size, fill);
                    mine.emplace_back(p, size);
                } else {
                    size_t k = rng() % mine.size();
                    for (unsigned c : cpus)
                        if (!copyIs(mine[k].first, c, mine[k].second, fill))
                            ++failures;
                    if (pcpu_free(mine[k].first) != 0)
                        ++failures;
                    mine.erase(mine.begin() + static_cast<long>(k));
                }
            }
            for (auto &[p, s] : mine)
                if (pcpu_free(p) != 0)
                    ++failures;
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(failures.load(), 0);
}

int numaNodes()
{
    int n = 0;
    for (int i = 0; i < 1024; ++i) {
        char path[64];
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d", i);
        if (access(path, F_OK) == 0)
            ++n;
    }
    return n;
}


// Allocating and freeing adds no mapping: a chunk's units are one mapping
// (ctest runs it at 4096 possible CPUs, where 10^6 objects of 8..256 bytes
// take several chunks, and where a mapping per unit per allocation would
// pass vm.max_map_count).
TEST(Allocator, MappingsStayBoundedWithAMillionLiveObjects)
{
    const pcpu_stats base = stats();
    const long maps0 = percpu::test::mapsCount();
    std::mt19937 rng(7);
    const size_t count = pcpu_nr_cpus() > 64 ? 1000000 : 200000;
    std::vector<void *> objs(count);
    for (auto &p : objs) {
        p = pcpu_alloc(8 + (rng() % 32) * 8, 8);
        ASSERT_NE(p, nullptr);
    }
    // Random frees and allocations (a free reads every unit's copy, a page
    // fault each at first: a few hundred).
    for (int i = 0; i < 300; ++i) {
        size_t k = rng() % count;
        ASSERT_EQ(pcpu_free(objs[k]), 0);
        objs[k] = pcpu_alloc(8 + (rng() % 32) * 8, 8);
        ASSERT_NE(objs[k], nullptr);
    }
    const pcpu_stats grown = stats();
    const long added = percpu::test::mapsCount() - maps0;
    const long units = static_cast<long>(grown.nr_units);
    const long chunks = static_cast<long>(grown.nr_chunks - base.nr_chunks);
    // A new chunk: its reservation and the units' mapping, a few mappings;
    // with several NUMA nodes, each unit's policy splits it once more.  64
    // for the rest of the process (the sanitizers' allocators).
#if defined(__SANITIZE_THREAD__)
    const long sanitizer = 12; // ThreadSanitizer maps metadata beside each new mapping
#else
    const long sanitizer = 0;
#endif
    const long perChunk = (numaNodes() > 1 ? units : 0) + 4 + sanitizer;
    EXPECT_LE(added, perChunk * chunks + 64)
        << added << " mappings added, " << chunks << " chunk(s) of " << units << " units";
    long limit = 0;
    if (FILE *f = fopen("/proc/sys/vm/max_map_count", "r")) {
        if (fscanf(f, "%ld", &limit) != 1)
            limit = 0;
        fclose(f);
    }
    if (limit > 0) {
        EXPECT_LT(percpu::test::mapsCount(), limit);
    }
    // Freeing them all reads every copy of each: 4 * 10^9 reads at 4096
    // units.  There, the process ends with them (ctest runs this test alone).
    if (grown.nr_units > 64)
        return;
    for (void *p : objs)
        ASSERT_EQ(pcpu_free(p), 0);
    EXPECT_EQ(stats().dynamic_allocations, base.dynamic_allocations);
}

} // namespace
