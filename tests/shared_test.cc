// Per-CPU variables in shared objects: two DT_NEEDED libraries (liba, libb)
// that use each other's counters, the program's own, a dlopen()ed plugin
// that uses liba's and the program's and defines one that a pcpu_dlopen()ed
// module uses, and a plugin with a 64 KiB block opened and closed many times.
// Paths come from the build (SHARED_PLUGIN, SHARED_MODULE, SHARED_BIG_PLUGIN).
#include <percpu/linux.h>
#include <percpu/loader.h>

#include "death_test_style.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
void a_work(void);
void b_work(void);
long a_private_sum(void);
long a_aligned_sum(void);
long *a_self_value(int cpu);
long *a_count_address(void);
long *a_private_address(void);
long *b_count_address(void);
char *a_wide_address(void);
char *b_page_address(void);
long *b_to_a_value(int cpu);
long *a_aligned_address(void);
}

DECLARE_PER_CPU(long, a_count);
DECLARE_PER_CPU(long, b_count);
DEFINE_PER_CPU(long, h_count);
// A per-CPU pointer of the program's static block, initialised with liba's
// a_wide (which nothing here accesses directly: no copy relocation).
DECLARE_PER_CPU(char, a_wide[8]);
DEFINE_PER_CPU(char *, h_to_a) = a_wide;
EXPORT_PER_CPU_SYMBOL(h_count);
extern "C" int plugin_exits; // counted by the plugin's module_exit
int plugin_exits;

namespace {

long sum(long *canonical)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += *per_cpu_ptr(canonical, cpu);
    return s;
}

// Runs `work` on `threads` threads, `iterations` times each; every 250
// iterations a thread moves itself to another CPU, so that its updates land
// on several CPUs' copies.
template <typename F>
void onMigratingThreads(unsigned threads, long iterations, F work)
{
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([=] {
            for (long i = 0; i < iterations; ++i) {
                if (i % 250 == 0 && online > 1) {
                    cpu_set_t set;
                    CPU_ZERO(&set);
                    CPU_SET(static_cast<int>((t + i / 250) % online), &set);
                    sched_setaffinity(0, sizeof(set), &set); // best effort
                }
                work();
            }
        });
    for (std::thread &th : pool)
        th.join();
}

long rssKiB()
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

constexpr unsigned kThreads = 4;
constexpr long kIterations = 20000;

} // namespace

TEST(SharedObjects, LibrariesCountersAreExactFromMigratingThreads)
{
    const long before[] = {sum(&a_count), sum(&b_count), sum(&h_count)};
    onMigratingThreads(kThreads, kIterations, [] {
        a_work(); // a_count, b_count, a_private, a_aligned += 2
        b_work(); // b_count, a_count
        this_cpu_inc(h_count);
    });
    const long n = kThreads * kIterations;
    EXPECT_EQ(sum(&a_count) - before[0], 2 * n);
    EXPECT_EQ(sum(&b_count) - before[1], 2 * n);
    EXPECT_EQ(sum(&h_count) - before[2], n);
    EXPECT_EQ(a_private_sum(), n + 3L * pcpu_nr_cpus());
    EXPECT_EQ(a_aligned_sum(), 2 * n);
}

TEST(SharedObjects, EveryObjectSeesOneCanonicalAddress)
{
    // The program's, the library's own and the other library's view.
    EXPECT_EQ(a_count_address(), &a_count);
    EXPECT_EQ(b_count_address(), &b_count);
    // Canonical: not the template in liba's image (what dlsym() on liba
    // gives), and each CPU's copy apart.  (gcc's code here copies a_count
    // into the program: the copy is then the canonical address.)
    void *liba = dlopen(SHARED_LIBA, RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(liba, nullptr) << dlerror();
    void *templ = dlsym(liba, "a_count");
    dlclose(liba);
    ASSERT_NE(templ, nullptr);
    EXPECT_NE(templ, static_cast<void *>(&a_count));
    EXPECT_EQ(pcpu_canonical(templ), static_cast<void *>(&a_count));
    EXPECT_EQ(pcpu_canonical(&a_count), static_cast<void *>(&a_count));
    if (pcpu_nr_cpus() > 1) {
        EXPECT_NE(per_cpu_ptr(&a_count, 0), per_cpu_ptr(&a_count, 1));
    }
    // A per-CPU address in per-CPU data: the block's, in every copy.
    int cpu;
    for_each_possible_cpu(cpu)
        ASSERT_EQ(a_self_value(cpu), &a_count) << "CPU " << cpu;
    // The exports are in the one table modules resolve against.
    const pcpu_export *e = pcpu_host_export("a_count");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->addr, static_cast<const void *>(&a_count));
    EXPECT_EQ(e->kind, static_cast<uint32_t>(PCPU_EXPORT_PER_CPU));
}

// A shared object's block is placed as aligned as its most aligned variable
// (a small block is not given a page of its own in every unit, so this is
// what keeps alignments past a cache line): liba's 256-byte-aligned array,
// libb's page-aligned one, in every CPU's copy.
TEST(SharedObjects, CopiesKeepTheVariablesAlignment)
{
    int cpu;
    for_each_possible_cpu(cpu) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(per_cpu_ptr(a_wide_address(), cpu)) % 256, 0u)
            << "CPU " << cpu;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(per_cpu_ptr(b_page_address(), cpu)) % 4096, 0u)
            << "CPU " << cpu;
    }
}

// libb's per-CPU pointer initialised with liba's a_aligned: libb's copies
// were made before liba registered, and still had to be moved to liba's
// block (they held liba's template address, in every unit).
TEST(SharedObjects, APointerToALaterObjectsVariableIsMovedInEveryCopy)
{
    int cpu;
    for_each_possible_cpu(cpu)
        ASSERT_EQ(b_to_a_value(cpu), a_aligned_address()) << "CPU " << cpu;
}

// The program's static block is copied into the units before any library
// registers: its pointer to liba's a_wide is moved in every copy (reading
// the program's template for it, inaccessible by then, crashed start-up).
TEST(SharedObjects, TheProgramsPointerToALibrarysVariableIsMoved)
{
    int cpu;
    for_each_possible_cpu(cpu)
        ASSERT_EQ(per_cpu(h_to_a, cpu), a_wide_address()) << "CPU " << cpu;
}

TEST(SharedObjectsDeathTest, TheTemplateFaults)
{
    percpuDeathTestStyle();
    void *libb = dlopen(SHARED_LIBB, RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(libb, nullptr) << dlerror();
    auto *templ = static_cast<volatile long *>(dlsym(libb, "b_count"));
    dlclose(libb);
    ASSERT_NE(templ, nullptr);
    ASSERT_NE(const_cast<long *>(templ), &b_count);
    EXPECT_DEATH((void)*templ, "");
}

// A plugin built with percpu_add_library() that has no per-CPU data of its
// own, only uses liba's a_aligned (which nothing in this program names, so
// no copy relocation makes its address canonical): its GOT entry is moved
// too, and its updates land in liba's copies.  (They went to one wrong
// address per CPU, inside the per-CPU space, when such an object was not
// walked.)
TEST(SharedObjects, APluginWithoutDataOfItsOwnUsesALibrarys)
{
    void *user = dlopen(SHARED_USER_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(user, nullptr) << dlerror();
    auto u_inc = reinterpret_cast<void (*)()>(dlsym(user, "user_inc"));
    auto u_sum = reinterpret_cast<long (*)()>(dlsym(user, "user_sum"));
    ASSERT_TRUE(u_inc && u_sum);
    const long before = a_aligned_sum();
    EXPECT_EQ(u_sum(), before);
    onMigratingThreads(kThreads, kIterations, [=] { u_inc(); });
    EXPECT_EQ(a_aligned_sum() - before, kThreads * kIterations);
    EXPECT_EQ(u_sum(), a_aligned_sum());
    dlclose(user);
}

// An object built with an earlier start-up object (record version 1, a
// table of every possible CPU) is still registered: its variable has its
// initial value on every CPU, counts exactly, and its table is filled.
TEST(SharedObjects, AnObjectWithAVersion1RecordStillLoads)
{
    void *v1 = dlopen(SHARED_V1_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(v1, nullptr) << dlerror();
    auto v_inc = reinterpret_cast<void (*)()>(dlsym(v1, "v1_inc"));
    auto v_sum = reinterpret_cast<long (*)()>(dlsym(v1, "v1_sum"));
    auto v_entry = reinterpret_cast<uintptr_t (*)(unsigned)>(dlsym(v1, "v1_table_entry"));
    auto v_units = reinterpret_cast<unsigned (*)()>(dlsym(v1, "v1_nr_units"));
    ASSERT_TRUE(v_inc && v_sum && v_entry && v_units);
    const long cpus = static_cast<long>(pcpu_nr_cpus());
    EXPECT_EQ(v_sum(), 5 * cpus);
    onMigratingThreads(kThreads, kIterations, [=] { v_inc(); });
    EXPECT_EQ(v_sum(), 5 * cpus + kThreads * kIterations);
    EXPECT_EQ(v_units(), pcpu_nr_cpus());
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        ASSERT_EQ(v_entry(c), pcpu_unit_offset[c]) << "CPU " << c;
    dlclose(v1);
}

TEST(SharedObjects, PluginAndModuleShareTheCounters)
{
    void *plugin = dlopen(SHARED_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(plugin, nullptr) << dlerror();
    auto p_work = reinterpret_cast<void (*)()>(dlsym(plugin, "p_work"));
    auto p_calls_sum = reinterpret_cast<long (*)()>(dlsym(plugin, "p_calls_sum"));
    auto p_a = reinterpret_cast<long *(*)()>(dlsym(plugin, "p_a_count_address"));
    auto p_h = reinterpret_cast<long *(*)()>(dlsym(plugin, "p_h_count_address"));
    ASSERT_TRUE(p_work && p_calls_sum && p_a && p_h);
    EXPECT_EQ(p_a(), &a_count);
    EXPECT_EQ(p_h(), &h_count);
    auto *p_count = static_cast<long *>(pcpu_canonical(dlsym(plugin, "p_count")));
    ASSERT_NE(p_count, nullptr);

    // The module resolves p_count through the export table although the
    // plugin was opened RTLD_LOCAL.
    pcpu_module *m = pcpu_dlopen(SHARED_MODULE, 0);
    ASSERT_NE(m, nullptr) << pcpu_dlerror();
    auto m_work = reinterpret_cast<void (*)()>(pcpu_dlsym(m, "m_work"));
    ASSERT_NE(m_work, nullptr);

    const long before[] = {sum(&a_count), sum(&h_count), sum(p_count)};
    onMigratingThreads(kThreads, kIterations, [=] {
        p_work(); // p_count, a_count, h_count, p_calls
        m_work(); // p_count, a_count
    });
    const long n = kThreads * kIterations;
    EXPECT_EQ(sum(p_count) - before[2], 2 * n);
    EXPECT_EQ(sum(&a_count) - before[0], 2 * n);
    EXPECT_EQ(sum(&h_count) - before[1], n);
    EXPECT_EQ(p_calls_sum(), n);

    auto p_was_initialised = reinterpret_cast<int (*)()>(dlsym(plugin, "p_was_initialised"));
    ASSERT_NE(p_was_initialised, nullptr);
    EXPECT_EQ(p_was_initialised(), 1) << "module_init did not run, or before the block existed";
    const int exits = plugin_exits;
    EXPECT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
    EXPECT_EQ(dlclose(plugin), 0);
    EXPECT_EQ(plugin_exits, exits + 1) << "module_exit did not run once";
    EXPECT_EQ(pcpu_host_export("p_count"), nullptr);
}

namespace {
struct Seen {
    std::vector<pcpu_block_info> blocks;
    std::vector<std::string> names;
};
int collect(const pcpu_block_info *b, void *arg)
{
    auto &s = *static_cast<Seen *>(arg);
    s.blocks.push_back(*b);
    s.names.push_back(b->name ? b->name : "");
    return 0;
}
} // namespace

TEST(SharedObjects, BlocksAreListedByOwner)
{
    pcpu_module *m = pcpu_dlopen(SHARED_MODULE_ALONE, 0);
    ASSERT_NE(m, nullptr) << pcpu_dlerror();
    void *dyn = pcpu_alloc(24, 8);
    ASSERT_NE(dyn, nullptr);
    Seen s;
    ASSERT_EQ(pcpu_for_each_block(collect, &s), 0);
    auto find = [&](pcpu_block_owner owner, const std::string &part) -> const pcpu_block_info * {
        for (size_t i = 0; i < s.blocks.size(); ++i)
            if (s.blocks[i].owner == owner && s.names[i].find(part) != std::string::npos)
                return &s.blocks[i];
        return nullptr;
    };
    const pcpu_block_info *prog = find(PCPU_BLOCK_PROGRAM, "shared_test");
    ASSERT_NE(prog, nullptr);
    EXPECT_GE(prog->size, sizeof(long)); // h_count at least
    const pcpu_block_info *a = find(PCPU_BLOCK_SHARED_OBJECT, "libshared_a.so");
    ASSERT_NE(a, nullptr);
    // liba's block holds its four variables (a_count's canonical address
    // may be the program's copy of it instead), a_private among them.
    EXPECT_GE(a->size, 4 * sizeof(long));
    const auto priv = reinterpret_cast<uintptr_t>(a_private_address());
    EXPECT_LE(reinterpret_cast<uintptr_t>(a->canonical), priv);
    EXPECT_LT(priv, reinterpret_cast<uintptr_t>(a->canonical) + a->size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(per_cpu_ptr(a->canonical, 0)) % PCPU_PAGE_BYTES, a->offset % PCPU_PAGE_BYTES);
    ASSERT_NE(find(PCPU_BLOCK_SHARED_OBJECT, "libshared_b.so"), nullptr);
    const pcpu_block_info *mod = find(PCPU_BLOCK_MODULE, "shared_module_alone.o");
    ASSERT_NE(mod, nullptr);
    EXPECT_GE(mod->size, sizeof(long));
    const pcpu_block_info *d = find(PCPU_BLOCK_DYNAMIC, "dynamic");
    ASSERT_NE(d, nullptr);
    EXPECT_GE(d->count, 1u);
    EXPECT_GE(d->size, 24u);
    EXPECT_EQ(pcpu_dlclose(m), 0);
    pcpu_free(dyn);
    Seen after;
    pcpu_for_each_block(collect, &after);
    for (const std::string &n : after.names)
        EXPECT_EQ(n.find("shared_module_alone.o"), std::string::npos) << "an unloaded module is listed";
}

TEST(SharedObjects, OpenAndCloseABigPluginManyTimes)
{
    const char *env = getenv("PERCPU_SHARED_ITERATIONS");
    const int rounds = env && *env ? atoi(env) : 10000;
    long vmasAfterWarmUp = 0, rssAfterWarmUp = 0;
    long *last = nullptr;
    for (int i = 0; i < rounds; ++i) {
        void *h = dlopen(SHARED_BIG_PLUGIN, RTLD_NOW | RTLD_LOCAL);
        ASSERT_NE(h, nullptr) << dlerror();
        auto check = reinterpret_cast<int (*)()>(dlsym(h, "big_check_and_dirty"));
        auto initial = reinterpret_cast<long *(*)()>(dlsym(h, "big_initial_address"));
        ASSERT_TRUE(check && initial);
        ASSERT_EQ(check(), 0) << "round " << i << ": a copy was neither zero nor initial";
        last = initial();
        ASSERT_EQ(dlclose(h), 0);
        if (i == std::min(100, rounds - 1)) {
            vmasAfterWarmUp = percpu::test::mapsCount();
            rssAfterWarmUp = rssKiB();
        }
    }
    EXPECT_LE(percpu::test::mapsCount(), vmasAfterWarmUp + 4) << "mappings grow with each open";
#if defined(__SANITIZE_THREAD__)
    (void)rssAfterWarmUp; // TSan keeps the shadow of every mapping the plugin ever had
#else
    EXPECT_LE(rssKiB(), rssAfterWarmUp + 4096) << "memory grows with each open";
#endif
    EXPECT_NE(last, nullptr);
}

TEST(SharedObjectsDeathTest, AClosedPluginsCanonicalAddressFaults)
{
    percpuDeathTestStyle();
    void *h = dlopen(SHARED_BIG_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(h, nullptr) << dlerror();
    auto initial = reinterpret_cast<long *(*)()>(dlsym(h, "big_initial_address"));
    ASSERT_NE(initial, nullptr);
    volatile long *stale = initial();
    EXPECT_EQ(*per_cpu_ptr(stale, 0), 42);
    ASSERT_EQ(dlclose(h), 0);
    // The block went back to the allocator, zeroed in every unit...
    int cpu;
    for_each_possible_cpu(cpu)
        ASSERT_EQ(*per_cpu_ptr(stale, cpu), 0) << "CPU " << cpu;
    // ...and its canonical address faults.
    EXPECT_DEATH((void)*stale, "");
}
