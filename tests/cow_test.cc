// The static block's units are copy-on-write mappings of one image: every
// CPU sees the initial values, a write stays private to its unit, units
// nobody wrote cost no memory (RSS flat across 4096 simulated CPUs), and CPUs
// that are not online (they may come online later) see the image too.
// Run as cow, cow.4096cpus and cow.copy (PERCPU_COW=0: the copy at start-up).
#include <percpu/linux.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Big {
    long first;
    char pad[256 * 1024 - 2 * sizeof(long)];
    long last;
};

} // namespace

DEFINE_PER_CPU(Big, cow_big) = {11, {0}, 22};

namespace {

bool cowExpected()
{
    const char *e = getenv("PERCPU_COW");
    return !(e && !strcmp(e, "0"));
}

// A figure of /proc/self/smaps_rollup, in KiB (-1 when absent).
long rollupKb(const char *field)
{
    std::ifstream f("/proc/self/smaps_rollup");
    std::string line, prefix = std::string(field) + ":";
    while (std::getline(f, line))
        if (line.rfind(prefix, 0) == 0)
            return std::stol(line.substr(prefix.size()));
    return -1;
}

// Proportional set size: a page mapped in 4096 units counts once (VmRSS
// would count it in every mapping).
long pssKb() { return rollupKb("Pss"); }
long rssKb() { return rollupKb("Rss"); }

TEST(CopyOnWrite, EveryUnitStartsWithTheImage)
{
    for (unsigned cpu = 0; cpu < nr_cpu_ids; cpu++) {
        ASSERT_EQ(per_cpu(cow_big, cpu).first, 11) << "cpu " << cpu;
        ASSERT_EQ(per_cpu(cow_big, cpu).last, 22) << "cpu " << cpu;
        ASSERT_EQ(per_cpu(cow_big, cpu).pad[1000], 0) << "cpu " << cpu;
    }
}

TEST(CopyOnWrite, StatsSayWhichUnitsShareTheImage)
{
    pcpu_stats st;
    ASSERT_EQ(pcpu_get_stats(&st), 0);
    EXPECT_GE(st.static_bytes, sizeof(Big));
    EXPECT_EQ(st.cow_units, cowExpected() ? st.nr_units : 0u);
}

TEST(CopyOnWrite, AWriteStaysInItsUnit)
{
    unsigned n = nr_cpu_ids;
    ASSERT_GE(n, 2u) << "needs 2 possible CPUs (PERCPU_NR_CPUS)";
    per_cpu_ptr(&cow_big, n - 1)->first = 5;
    per_cpu_ptr(&cow_big, n - 1)->pad[5000] = 7;
    for (unsigned cpu = 0; cpu + 1 < n; cpu++) {
        ASSERT_EQ(per_cpu(cow_big, cpu).first, 11) << "cpu " << cpu;
        ASSERT_EQ(per_cpu(cow_big, cpu).pad[5000], 0) << "cpu " << cpu;
    }
    EXPECT_EQ(per_cpu(cow_big, n - 1).first, 5);
    per_cpu_ptr(&cow_big, n - 1)->first = 11;
    per_cpu_ptr(&cow_big, n - 1)->pad[5000] = 0;
}

TEST(CopyOnWrite, CpusNotOnlineSeeTheImage)
{
    ASSERT_EQ(pcpu_refresh_online(), 0);
    unsigned offline = 0;
    for (unsigned cpu = 0; cpu < nr_cpu_ids; cpu++) {
        if (cpu_online(cpu))
            continue;
        offline++;
        ASSERT_EQ(per_cpu(cow_big, cpu).first, 11) << "cpu " << cpu;
        ASSERT_EQ(per_cpu(cow_big, cpu).last, 22) << "cpu " << cpu;
    }
    if (offline == 0)
        GTEST_SKIP() << "every possible CPU is online (run with PERCPU_NR_CPUS above the real count)";
}

// 4096 units of a 256 KiB block: 1 GiB if each unit held a copy.  With the
// shared image, the process's memory (PSS) stays far below that, and writing one page in
// 256 units adds those pages.
TEST(CopyOnWrite, MemoryGrowsOnlyWithTheUnitsWritten)
{
    if (!cowExpected())
        GTEST_SKIP() << "PERCPU_COW=0: every unit holds a copy";
    if (nr_cpu_ids < 1024)
        GTEST_SKIP() << "needs PERCPU_NR_CPUS >= 1024 to tell a copy per unit from a shared image";
    long before = pssKb();
    ASSERT_GT(before, 0);
    long copies = static_cast<long>(nr_cpu_ids) * static_cast<long>(sizeof(Big)) / 1024;
    EXPECT_LT(before, copies / 8) << "PSS " << before << " KiB at " << nr_cpu_ids << " units";
    for (unsigned cpu = 0; cpu < 256; cpu++)
        per_cpu_ptr(&cow_big, cpu)->pad[100000] = 1;
    long after = pssKb();
    // 256 new private pages (1 MiB); the bound is half of that, since the
    // process's other memory (the sanitizers' allocators) moves meanwhile.
    EXPECT_GE(after - before, 256 * 2) << "before " << before << " KiB, after " << after << " KiB";
    for (unsigned cpu = 0; cpu < 256; cpu++)
        per_cpu_ptr(&cow_big, cpu)->pad[100000] = 0;
}

// A for_each_possible_cpu() read maps about a page per unit: a read fault on
// the image's file mapping also maps the neighbouring pages the file holds
// (fault-around, 16 pages), so the file holds only the image's non-zero
// pages.  Nothing is committed: PSS stays.
TEST(CopyOnWrite, ReadingEveryCopyMapsAboutAPagePerUnit)
{
    if (!cowExpected())
        GTEST_SKIP() << "PERCPU_COW=0: every unit holds a copy";
    if (nr_cpu_ids < 1024)
        GTEST_SKIP() << "needs PERCPU_NR_CPUS >= 1024 to tell a page per unit from 16";
#if defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "ThreadSanitizer's shadow of every read page is memory too";
#endif
    long rss0 = rssKb(), pss0 = pssKb();
    ASSERT_GT(rss0, 0);
    long sum = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        sum += per_cpu_ptr(&cow_big, cpu)->pad[150000] + per_cpu_ptr(&cow_big, cpu)->pad[230000];
    EXPECT_EQ(sum, 0);
    long rss = rssKb() - rss0, pss = pssKb() - pss0;
    const long units = static_cast<long>(nr_cpu_ids);
    // Two pages read per unit; 3 KiB per page read on average would already
    // be well below the 64 KiB fault-around maps; 1 MiB for the sanitizers.
    EXPECT_LE(rss, units * 2 * 6 + 1024) << "RSS +" << rss << " KiB over " << units << " units";
    EXPECT_LE(pss, 1024) << "PSS +" << pss << " KiB";
}

// Module blocks (what the loader fills with a module's initial values): the
// whole pages share one image, the edges are copied; after the block is
// freed, the same space reads zero on every CPU again.
TEST(CopyOnWrite, ModuleBlocksShareTheirImage)
{
    const size_t size = 256 * 1024 + 100;
    void *b = pcpu_module_block_alloc(size, 64);
    ASSERT_NE(b, nullptr);
    std::vector<unsigned char> img(size);
    for (size_t i = 0; i < size; i++)
        img[i] = static_cast<unsigned char>(i * 7 + 1);
    long before = pssKb();
    ASSERT_EQ(pcpu_module_block_fill(b, img.data(), size), 0);
    long after = pssKb();
    const size_t probes[] = {0, 4095, 4096, size / 2, size - 1};
    for (unsigned cpu = 0; cpu < nr_cpu_ids; cpu++)
        for (size_t at : probes)
            ASSERT_EQ(static_cast<unsigned char *>(per_cpu_ptr(b, cpu))[at], img[at])
                << "cpu " << cpu << " byte " << at;
    if (cowExpected() && nr_cpu_ids >= 1024) {
        long copies = static_cast<long>(nr_cpu_ids) * static_cast<long>(size) / 1024;
        EXPECT_LT(after - before, copies / 8) << "PSS grew " << after - before << " KiB";
    }
    unsigned last = nr_cpu_ids - 1;
    static_cast<unsigned char *>(per_cpu_ptr(b, last))[size / 2] = 0;
    if (last > 0) {
        EXPECT_EQ(static_cast<unsigned char *>(per_cpu_ptr(b, 0))[size / 2], img[size / 2]);
    }
    ASSERT_EQ(pcpu_module_block_free(b, 1), 0);
    void *again = pcpu_module_block_alloc(size, 64);
    ASSERT_NE(again, nullptr);
    for (unsigned cpu = 0; cpu < nr_cpu_ids; cpu++)
        for (size_t at : probes)
            ASSERT_EQ(static_cast<unsigned char *>(per_cpu_ptr(again, cpu))[at], 0)
                << "cpu " << cpu << " byte " << at;
    EXPECT_EQ(pcpu_module_block_free(again, 1), 0);

    void *dyn = pcpu_alloc(64, 8);
    ASSERT_NE(dyn, nullptr);
    errno = 0;
    EXPECT_EQ(pcpu_module_block_fill(dyn, img.data(), 64), -1); // not a module block
    EXPECT_EQ(errno, EINVAL);
    pcpu_free(dyn);
}

} // namespace
