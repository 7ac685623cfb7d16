// The module loader, on fixture modules compiled by the test build
// (testdata/modules) with one compiler and one set of flags per run:
// PERCPU_FIXTURES names the directory.  ctest runs this host for gcc and
// clang, -O0 and -O2, -fPIC and -fPIE, near and far (PERCPU_FORCE_FAR=1), and
// a non-PIE host for -fno-pic modules.
#include <percpu/linux.h>
#include <percpu/loader.h>
#include <percpu/loader.hpp>

#include "test_util.h"

#include <gtest/gtest.h>

#include "death_test_style.h"

#include <malloc.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <atomic>
#include <iterator>
#include <cstring>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

// What the host exports to modules.
DEFINE_PER_CPU(long, host_hits);
EXPORT_PER_CPU_SYMBOL(host_hits);
int host_value = 42;
EXPORT_SYMBOL(host_value);
extern "C" {
int host_cxx_destroyed = 0; // set by cxx_module.o's static destructor
}
EXPORT_SYMBOL(host_cxx_destroyed);
int host_atexit_runs = 0; // atexit_module.o's handlers add to these
EXPORT_SYMBOL(host_atexit_runs);
int host_atfork_runs = 0;
EXPORT_SYMBOL(host_atfork_runs);
char host_ctor_order[32]; // ctors.o's constructors and destructors append to it
EXPORT_SYMBOL(host_ctor_order);
// An ordinary variable that merely carries the per-CPU prefix: a per-CPU
// reference to it is a kind mismatch.
extern "C" {
long per_cpu__fake_plain = 0;
}
EXPORT_SYMBOL(per_cpu__fake_plain);
// What percpu_test_mod.o's module_init reports: checks made and failed.
extern "C" {
int percpu_test_checks = 0;
int percpu_test_failures = 0;
}
EXPORT_SYMBOL(percpu_test_checks);
EXPORT_SYMBOL(percpu_test_failures);
// Thread-local data of the program that tls_process.o uses, and what
// tls_cxx.o's thread_local destructors count.
extern "C" {
__thread int host_tls = 0;
int host_tls_destroyed = 0;
}
EXPORT_SYMBOL(host_tls_destroyed);

namespace {

std::string fixture(const char *name)
{
    const char *dir = getenv("PERCPU_FIXTURES");
    return std::string(dir ? dir : ".") + "/" + name;
}

bool forcedFar()
{
    const char *e = getenv("PERCPU_FORCE_FAR");
    return e && *e && strcmp(e, "0") != 0;
}

template <typename F> F sym(pcpu_module *m, const char *name)
{
    void *p = pcpu_dlsym(m, name);
    EXPECT_NE(p, nullptr) << name;
    return reinterpret_cast<F>(p);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// The sanitizers' allocators map and unmap memory of their own as the test
// allocates: there the process-wide mapping comparison is left out (the
// default build makes it), the loader's and allocator's own figures stay.
constexpr bool kCompareMaps = false;
#else
constexpr bool kCompareMaps = true;
#endif

struct Snapshot {
    pcpu_stats stats{};
    pcpu_loader_stats loader{};
    std::vector<std::string> maps;
    static Snapshot take()
    {
        Snapshot s;
        pcpu_get_stats(&s.stats);
        pcpu_loader_get_stats(&s.loader);
        std::ifstream f("/proc/self/maps");
        for (std::string line; std::getline(f, line);)
            if (line.find("[heap]") == std::string::npos) // brk moves with malloc
                s.maps.push_back(line);
        return s;
    }
};

void expectSameState(const Snapshot &a, const Snapshot &b)
{
    EXPECT_EQ(a.stats.module_bytes, b.stats.module_bytes);
    EXPECT_EQ(a.stats.module_blocks, b.stats.module_blocks);
    EXPECT_EQ(a.stats.used_bytes, b.stats.used_bytes);
    EXPECT_EQ(a.stats.committed_per_unit, b.stats.committed_per_unit);
    EXPECT_EQ(a.loader.modules, b.loader.modules);
    EXPECT_EQ(a.loader.exports, b.loader.exports);
    EXPECT_EQ(a.loader.mapped_bytes, b.loader.mapped_bytes);
    if (!kCompareMaps)
        return;
    std::vector<std::string> gone, added;
    std::set_difference(a.maps.begin(), a.maps.end(), b.maps.begin(), b.maps.end(),
                        std::back_inserter(gone));
    std::set_difference(b.maps.begin(), b.maps.end(), a.maps.begin(), a.maps.end(),
                        std::back_inserter(added));
    std::string diff;
    for (auto &l : gone)
        diff += "\n  - " + l;
    for (auto &l : added)
        diff += "\n  + " + l;
    EXPECT_TRUE(diff.empty()) << "the process's mappings changed:" << diff;
}

bool anyWritableExecutable()
{
    std::ifstream f("/proc/self/maps");
    for (std::string line; std::getline(f, line);) {
        std::istringstream is(line);
        std::string range, perms;
        is >> range >> perms;
        if (perms.size() >= 3 && perms[1] == 'w' && perms[2] == 'x')
            return true;
    }
    return false;
}

class Loader : public ::testing::Test {
protected:
    void TearDown() override
    {
        for (auto it = mods_.rbegin(); it != mods_.rend(); ++it)
            EXPECT_EQ(pcpu_dlclose(*it), 0) << pcpu_dlerror();
        mods_.clear();
    }
    pcpu_module *load(const char *name, int flags = 0)
    {
        pcpu_module *m = pcpu_dlopen(fixture(name).c_str(), flags);
        EXPECT_NE(m, nullptr) << pcpu_dlerror();
        if (m)
            mods_.push_back(m);
        return m;
    }
    std::vector<pcpu_module *> mods_;
};

TEST_F(Loader, RunsModuleInitAndCallsLibc)
{
    pcpu_module *m = load("counters.o");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(sym<int (*)()>(m, "counters_initialised")(), 1);
    EXPECT_STREQ(sym<const char *(*)()>(m, "counters_greeting")(), "hello from counters");
    pcpu_module_info info;
    ASSERT_EQ(pcpu_module_get_info(m, &info), 0);
    EXPECT_EQ(info.far, forcedFar() ? 1 : 0);
    EXPECT_GT(info.percpu_bytes, 4096u); // holds a page-aligned variable
    EXPECT_FALSE(anyWritableExecutable());
}

TEST_F(Loader, InitialValuesAndAlignmentOnEveryCpu)
{
    pcpu_module *m = load("counters.o");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(sym<int (*)()>(m, "counters_check_init")(), 0);
    auto *hits = static_cast<long *>(pcpu_dlsym(m, "mod_hits"));
    ASSERT_NE(hits, nullptr);
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        ASSERT_EQ(*per_cpu_ptr(hits, c), 5) << "cpu " << c;
}

// A module's canonical per-CPU address is not memory: dereferencing it
// directly faults, and with PERCPU_GUARD=1 the message names the module's
// variable.  pcpu_free() of it is reported and frees nothing.
TEST_F(Loader, CanonicalModuleAddressesFaultAndAreNotAllocations)
{
    pcpu_module *m = load("counters.o");
    ASSERT_NE(m, nullptr);
    auto *hits = static_cast<long *>(pcpu_dlsym(m, "mod_hits"));
    ASSERT_NE(hits, nullptr);
    pcpu_stats before{}, after{};
    pcpu_get_stats(&before);
    errno = 0;
    EXPECT_EQ(pcpu_free(hits), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(pcpu_free(reinterpret_cast<char *>(hits) + 8), -1);
    pcpu_get_stats(&after);
    EXPECT_EQ(after.module_blocks, before.module_blocks);
    EXPECT_EQ(after.module_bytes, before.module_bytes);
    auto sum = sym<long (*)()>(m, "counters_sum");
    long total = 0;
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        total += *per_cpu_ptr(hits, c);
    EXPECT_EQ(sum(), total);

    // The death test re-runs this test in a new process, where the guard
    // is on from start-up (under qemu, a forked one: PERCPU_GUARD=1 is then
    // set for the whole run, tests/Aarch64Tests.cmake).
    percpuDeathTestStyle();
    setenv("PERCPU_GUARD", "1", 1);
    EXPECT_DEATH(*reinterpret_cast<volatile long *>(hits) = 1,
                 "percpu: guard: .* the per-CPU variable `mod_hits` \\(\\+0 of 8 bytes\\) "
                 "of module .*counters\\.o");
    unsetenv("PERCPU_GUARD");
}

// A module whose per-CPU block lands out of 32-bit reach of its code (here:
// the first chunk is filled, so the block goes to a later one) is loaded the
// far way without being asked: the near attempt's overflows are records the
// far-reach decision reads, the near placement is given back, and the
// graph, made indirect in memory, is laid out again.  It also
// leaves committed pages free behind it, which a failed load undone later
// must not give back (FailedLoadsLeaveNothingBehind, after it, compares the
// committed pages exactly).
TEST_F(Loader, BlocksOutOfReachSwitchToTheFarPathByThemselves)
{
    pcpu_stats st{};
    pcpu_get_stats(&st);
    const unsigned chunks = st.nr_chunks;
    std::vector<void *> fill;
    for (size_t size = size_t{1} << 20; size >= 8; size /= 8) {
        for (;;) {
            void *p = pcpu_alloc(size, 8);
            ASSERT_NE(p, nullptr);
            pcpu_get_stats(&st);
            if (st.nr_chunks > chunks) { // past the first chunk: that size is done
                ASSERT_EQ(pcpu_free(p), 0);
                break;
            }
            fill.push_back(p);
        }
    }
    ASSERT_GT(fill.size(), 0u);
    if (getenv("PERCPU_EXPECT_ABSOLUTE_REFUSAL")) {
        // -fno-pic code holds 32-bit absolute per-CPU addresses, which the
        // far path cannot make indirect: refused, naming the module, after
        // the near layout was given back and the far one refused, with
        // nothing left of either.
        Snapshot before = Snapshot::take();
        EXPECT_EQ(pcpu_dlopen(fixture("counters.o").c_str(), 0), nullptr);
        EXPECT_NE(std::string(pcpu_dlerror()).find("counters.o"), std::string::npos);
        expectSameState(before, Snapshot::take());
    } else {
        pcpu_stats beforeLoad{};
        pcpu_get_stats(&beforeLoad);
        pcpu_module *m = load("counters.o");
        ASSERT_NE(m, nullptr);
        pcpu_module_info info;
        ASSERT_EQ(pcpu_module_get_info(m, &info), 0);
        // One block is live for the module: a near attempt's was given back
        // before the far layout took its own.
        pcpu_stats afterLoad{};
        pcpu_get_stats(&afterLoad);
        EXPECT_EQ(afterLoad.module_blocks, beforeLoad.module_blocks + 1);
        EXPECT_EQ(afterLoad.module_bytes, beforeLoad.module_bytes + ((info.percpu_bytes + 7) & ~size_t{7}));
        // -mcmodel=large code addresses everything with 64 bits: it reaches.
        // Otherwise the block is far when it is out of the reach of a
        // PC-relative reference from the module's code: x86-64's 32-bit
        // displacements reach 2 GiB, AArch64's adrp 4 GiB, and a later chunk
        // may or may not sit that far (under qemu-user it is nearer).
        const char *dir = getenv("PERCPU_FIXTURES");
        const bool largeModel = dir && strstr(dir, "_large");
        const auto code = reinterpret_cast<uintptr_t>(pcpu_dlsym(m, "counters_sum"));
        const auto block = reinterpret_cast<uintptr_t>(info.percpu_block);
        const uintptr_t distance = code > block ? code - block : block - code;
#if defined(__aarch64__)
        const uintptr_t reach = uintptr_t{4} << 30;
#else
        const uintptr_t reach = uintptr_t{2} << 30;
#endif
        if (forcedFar()) {
            EXPECT_EQ(info.far, 1);
        } else if (largeModel || distance < reach / 2) {
            EXPECT_EQ(info.far, 0) << "block 0x" << std::hex << block << ", code 0x" << code;
        } else if (distance > reach) {
            EXPECT_EQ(info.far, 1) << "block 0x" << std::hex << block << ", code 0x" << code;
        }
        auto *hits = static_cast<long *>(pcpu_dlsym(m, "mod_hits"));
        ASSERT_NE(hits, nullptr);
        EXPECT_EQ(*per_cpu_ptr(hits, 0), 5);
        long before = sym<long (*)()>(m, "counters_sum")();
        sym<void (*)(long)>(m, "counters_bump")(3);
        EXPECT_EQ(sym<long (*)()>(m, "counters_sum")(), before + 3);
    }
    TearDown(); // the module first, then the space it was pushed out of
    for (void *p : fill)
        EXPECT_EQ(pcpu_free(p), 0);
}

TEST_F(Loader, ModuleDataFollowsTheHostFormula)
{
    pcpu_module *m = load("counters.o");
    ASSERT_NE(m, nullptr);
    auto *hits = static_cast<long *>(pcpu_dlsym(m, "mod_hits"));
    ASSERT_NE(hits, nullptr);
    pcpu_stats st;
    pcpu_get_stats(&st);
    for (unsigned c = 0; c + 1 < pcpu_nr_cpus(); ++c) {
        auto a = reinterpret_cast<uintptr_t>(per_cpu_ptr(hits, c));
        auto b = reinterpret_cast<uintptr_t>(per_cpu_ptr(hits, c + 1));
        ASSERT_EQ(b - a, st.unit_stride);
        ASSERT_EQ(a - reinterpret_cast<uintptr_t>(hits), pcpu_unit_offset[c]);
    }
    // What the module's code computes is what the host computes.
    auto bump = sym<void (*)(long)>(m, "counters_bump");
    auto sum = sym<long (*)()>(m, "counters_sum");
    long before = sum();
    bump(10);
    long host = 0;
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        host += *per_cpu_ptr(hits, c);
    EXPECT_EQ(sum(), before + 10);
    EXPECT_EQ(host, before + 10);
}

TEST_F(Loader, ThreadsMigratingKeepModuleCountersExact)
{
    pcpu_module *m = load("counters.o");
    ASSERT_NE(m, nullptr);
    auto bump = sym<void (*)(long)>(m, "counters_bump");
    auto sum = sym<long (*)()>(m, "counters_sum");
    auto priv = sym<long (*)()>(m, "counters_private_sum");
    long s0 = sum(), p0 = priv();
    const int threads = static_cast<int>(2 * std::thread::hardware_concurrency() + 2);
    const long per = 50000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([=] {
            for (long i = 0; i < per; i += 100) {
                percpu::test::migrate(t + static_cast<int>(i / 100));
                bump(100);
                this_cpu_add(host_hits, 100);
            }
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(sum(), s0 + threads * per);
    EXPECT_EQ(priv(), p0 + 3 * threads * per); // +1 private, +2 events per bump
}

TEST_F(Loader, ModulesUseEachOthersAndTheHostsExports)
{
    pcpu_module *a = load("counters.o");
    pcpu_module *b = load("user.o");
    ASSERT_TRUE(a && b);
    long hostBefore = 0;
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        hostBefore += per_cpu(host_hits, c);
    auto sumA = sym<long (*)()>(a, "counters_sum");
    long aBefore = sumA();
    sym<void (*)(long)>(b, "user_bump_both")(7);
    EXPECT_EQ(sumA(), aBefore + 7);
    EXPECT_EQ(sym<long (*)()>(b, "user_read_a")(), aBefore + 7);
    long hostAfter = 0;
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        hostAfter += per_cpu(host_hits, c);
    EXPECT_EQ(hostAfter, hostBefore + 7);
    // Weak undefined resolves to 0; COMMON gets storage.
    EXPECT_EQ(sym<int (*)()>(b, "user_has_optional")(), 0);
    EXPECT_EQ(sym<int (*)()>(b, "user_common_value")(), 7);

    // A cannot go while B uses it.
    EXPECT_EQ(pcpu_dlclose(a), -1);
    const char *err = pcpu_dlerror();
    ASSERT_NE(err, nullptr);
    EXPECT_NE(std::string(err).find("used by '" + fixture("user.o") + "'"), std::string::npos) << err;
    EXPECT_NE(std::string(err).find("[load]"), std::string::npos) << "the message carries its rule: " << err;
    EXPECT_EQ(pcpu_dlerror(), nullptr); // read once, like dlerror
}

TEST_F(Loader, FailedLoadsLeaveNothingBehind)
{
    pcpu_module *a = load("counters.o");
    ASSERT_NE(a, nullptr);
    Snapshot before = Snapshot::take();
    struct Case {
        const char *file;
        const char *message;
    } cases[] = {
        {"failing_init.o", "module_init function returned -5"},
        {"kind_mismatch.o", "per-CPU reference 'per_cpu__fake_plain' resolves to ordinary host symbol"},
        {"kind_mismatch.o", "per-CPU reference 'host_value' resolves to ordinary host symbol"},
        {"kind_mismatch.o", "undefined per-CPU symbol 'opterr' (declared with DECLARE_PER_CPU"},
        {"kind_plain_ref.o", "ordinary reference 'host_hits' resolves to a per-CPU host export "
                             "(declare it with DECLARE_PER_CPU)"},
        {"copy/counters.o", "already exported by module"}, // another file, the same exports
        {"garbage.o", "[malformed]"},
        {"missing.o", "cannot read"},
    };
    // The same object under another path: loaded again, not the same module.
    const std::string copyDir = testing::TempDir() + "copy";
    std::filesystem::create_directories(copyDir);
    std::filesystem::copy_file(fixture("counters.o"), copyDir + "/counters.o",
                               std::filesystem::copy_options::overwrite_existing);
    for (const Case &c : cases) {
        SCOPED_TRACE(c.file);
        const std::string path = !strncmp(c.file, "copy/", 5) ? testing::TempDir() + c.file : fixture(c.file);
        pcpu_module *m = pcpu_dlopen(path.c_str(), 0);
        EXPECT_EQ(m, nullptr);
        const char *err = pcpu_dlerror();
        ASSERT_NE(err, nullptr);
        EXPECT_NE(std::string(err).find(c.message), std::string::npos) << err;
        EXPECT_NE(std::string(err).find(c.file), std::string::npos) << "message names the file: " << err;
    }
    Snapshot after = Snapshot::take();
    expectSameState(before, after);
}

TEST_F(Loader, TheSameFileOpenedTwiceIsOneModuleCounted)
{
    Snapshot before = Snapshot::take();
    pcpu_module *a = pcpu_dlopen(fixture("counters.o").c_str(), 0);
    ASSERT_NE(a, nullptr) << pcpu_dlerror();
    Snapshot once = Snapshot::take();
    // Through another spelling of the same file.
    const std::string dir = fixture("counters.o").substr(0, fixture("counters.o").rfind('/'));
    pcpu_module *b = pcpu_dlopen((dir + "/./counters.o").c_str(), 0);
    EXPECT_EQ(b, a) << (b ? "" : pcpu_dlerror());
    expectSameState(once, Snapshot::take());
    auto hits = static_cast<long *>(pcpu_dlsym(a, "mod_hits"));
    ASSERT_NE(hits, nullptr);
    EXPECT_EQ(pcpu_dlclose(b), 0) << pcpu_dlerror();
    EXPECT_EQ(pcpu_dlsym(a, "mod_hits"), hits) << "one close of two: still loaded";
    EXPECT_EQ(pcpu_dlclose(a), 0) << pcpu_dlerror();
    expectSameState(before, Snapshot::take());
    EXPECT_EQ(pcpu_dlclose(a), -1) << "the last close unloaded it";
    EXPECT_NE(pcpu_dlerror(), nullptr);
}

TEST_F(Loader, UnknownFlagBitsAreRefused)
{
    Snapshot before = Snapshot::take();
    errno = 0;
    EXPECT_EQ(pcpu_dlopen(fixture("counters.o").c_str(), 0x4000), nullptr);
    EXPECT_EQ(errno, EINVAL);
    const char *err = pcpu_dlerror();
    ASSERT_NE(err, nullptr);
    EXPECT_NE(std::string(err).find("unknown flag bits 0x4000"), std::string::npos) << err;
    const char bytes[] = "not read";
    EXPECT_EQ(pcpu_dlopen_mem(bytes, sizeof(bytes), "mem.o", PCPU_RTLD_FAR | 0x100), nullptr);
    err = pcpu_dlerror();
    ASSERT_NE(err, nullptr);
    EXPECT_NE(std::string(err).find("unknown flag bits 0x100"), std::string::npos) << err;
    expectSameState(before, Snapshot::take());
}

TEST_F(Loader, FunctionLookupRefusesVariables)
{
    pcpu_module *m = load("counters.o");
    ASSERT_NE(m, nullptr);
    EXPECT_NE(pcpu_dlfunc(m, "counters_sum"), nullptr) << pcpu_dlerror();
    EXPECT_EQ(pcpu_dlfunc(m, "counters_sum"), pcpu_dlsym(m, "counters_sum"));
    // A per-CPU variable: pcpu_dlsym gives its canonical address,
    // pcpu_dlfunc refuses it.
    ASSERT_NE(pcpu_dlsym(m, "mod_hits"), nullptr);
    EXPECT_EQ(pcpu_dlfunc(m, "mod_hits"), nullptr);
    const char *err = pcpu_dlerror();
    ASSERT_NE(err, nullptr);
    EXPECT_NE(std::string(err).find("'mod_hits' is a variable, not a function"), std::string::npos) << err;
    EXPECT_EQ(pcpu_dlfunc(m, "no_such_symbol"), nullptr);
    err = pcpu_dlerror();
    ASSERT_NE(err, nullptr);
    EXPECT_NE(std::string(err).find("no symbol 'no_such_symbol'"), std::string::npos) << err;
}

TEST_F(Loader, UndefinedSymbolsAreNamedAndProcessSymbolsCanBeForbidden)
{
    // user.o needs counters.o's exports.
    EXPECT_EQ(pcpu_dlopen(fixture("user.o").c_str(), 0), nullptr);
    std::string err = pcpu_dlerror();
    EXPECT_NE(err.find("undefined per-CPU symbol 'mod_hits'"), std::string::npos) << err;
    // counters.o calls libc: refused when process symbols are off.
    EXPECT_EQ(pcpu_dlopen(fixture("counters.o").c_str(), PCPU_RTLD_NO_PROCESS_SYMBOLS), nullptr);
    err = pcpu_dlerror();
    EXPECT_NE(err.find("process symbols are disabled"), std::string::npos) << err;
}

TEST_F(Loader, CxxConstructorsExceptionsAndDestructors)
{
    if (getenv("PERCPU_EXPECT_ABSOLUTE_REFUSAL")) {
        // -fno-pic C++ code holds 32-bit absolute addresses of libstdc++
        // symbols, which live far above 4 GiB: refused, naming them.
        EXPECT_EQ(pcpu_dlopen(fixture("cxx_module.o").c_str(), 0), nullptr);
        std::string err = pcpu_dlerror();
        EXPECT_NE(err.find("relocation R_X86_64_32 out of range"), std::string::npos) << err;
        EXPECT_NE(err.find("references '_ZTISt13runtime_error'"), std::string::npos) << err;
        return;
    }
    pcpu_module *m = load("cxx_module.o");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(sym<int (*)()>(m, "cxx_constructed")(), 1);
    EXPECT_EQ(sym<int (*)(int)>(m, "cxx_catch")(1), 1);
    EXPECT_EQ(sym<int (*)(int)>(m, "cxx_catch")(5), static_cast<int>(strlen("too big: 5")));
    long n = sym<long (*)(long)>(m, "cxx_bump")(4);
    EXPECT_EQ(n, 3L * pcpu_nr_cpus() + 4);
    host_cxx_destroyed = 0;
    mods_.clear();
    ASSERT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
    EXPECT_EQ(host_cxx_destroyed, 1) << "the static destructor did not run on unload";
}

TEST_F(Loader, IndirectFunctionsReachTheResolvedImplementation)
{
    pcpu_module *m = load("ifunc.o");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(sym<int (*)()>(m, "ifunc_check")(), 0);
    EXPECT_EQ(sym<int (*)()>(m, "ifunc_resolver_calls")(), 1);
#if defined(__x86_64__)
    // target_clones (testdata/modules/ifunc.c): x86-64 only, as GCC 12 has
    // no target_clones for AArch64.
    EXPECT_EQ(sym<int (*)()>(m, "ifunc_clones_check")(), 0);
#endif
    // What pcpu_dlsym gives is the function, the same address the module's
    // own data holds.
    auto add = sym<int (*)(int)>(m, "ifunc_add");
    EXPECT_EQ(add(1), 3);
    EXPECT_EQ(reinterpret_cast<void *>(add), *static_cast<void **>(pcpu_dlsym(m, "ifunc_add_ptr")));
    EXPECT_FALSE(anyWritableExecutable());
}

TEST_F(Loader, AtexitAndAtforkHandlersBelongToTheModule)
{
    host_atexit_runs = host_atfork_runs = 0;
    pcpu_module *m = pcpu_dlopen(fixture("atexit_module.o").c_str(), 0);
    ASSERT_NE(m, nullptr) << pcpu_dlerror();
    ASSERT_EQ(sym<int (*)()>(m, "atexit_register_later")(), 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    ASSERT_GT(pid, 0);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_EQ(host_atfork_runs, 1) << "the module's fork handler did not run";
    EXPECT_EQ(host_atexit_runs, 0);
    ASSERT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
    EXPECT_EQ(host_atexit_runs, 11) << "unloading must run both atexit handlers, once";
    // Forgotten on unload: a fork now must not call into unmapped code.
    pid = fork();
    if (pid == 0)
        _exit(0);
    ASSERT_GT(pid, 0);
    waitpid(pid, &status, 0);
    EXPECT_EQ(host_atfork_runs, 1);
}

TEST_F(Loader, CtorsAndDtorsTablesRunInAProgramsOrder)
{
    memset(host_ctor_order, 0, sizeof host_ctor_order);
    pcpu_module *m = pcpu_dlopen(fixture("ctors.o").c_str(), 0);
    ASSERT_NE(m, nullptr) << pcpu_dlerror();
    EXPECT_STREQ(host_ctor_order, "bcda");
    ASSERT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
    EXPECT_STREQ(host_ctor_order, "bcdaxyz");
}

TEST(LoaderCxx, RaiiModulesAndResults)
{
    pcpu_loader_stats before{}, after{};
    ASSERT_EQ(pcpu_loader_get_stats(&before), 0);
    {
        auto missing = percpu::Module::open(fixture("no-such-module.o"));
        ASSERT_FALSE(missing);
        EXPECT_NE(missing.error().find("no-such-module.o"), std::string::npos) << missing.error();

        auto counters = percpu::Module::open(fixture("counters.o"));
        ASSERT_TRUE(counters) << counters.error();
        auto greeting = counters->function<const char *()>("counters_greeting");
        ASSERT_TRUE(greeting) << greeting.error();
        EXPECT_STREQ((*greeting)(), "hello from counters");
        auto nothing = counters->function<int()>("counters_no_such_function");
        ASSERT_FALSE(nothing);
        EXPECT_NE(nothing.error().find("counters_no_such_function"), std::string::npos) << nothing.error();
        auto data = counters->function<int()>("mod_hits"); // a variable: never called
        ASSERT_FALSE(data);
        EXPECT_NE(data.error().find("is a variable, not a function"), std::string::npos) << data.error();

        // A per-CPU variable as a typed per-CPU pointer: the same canonical
        // address as pcpu_dlsym's, this_cpu operations and sum() on it.
        auto hits = counters->perCpu<long>("mod_hits");
        ASSERT_TRUE(hits) << hits.error();
        EXPECT_EQ(static_cast<void *>(hits->canonical()), pcpu_dlsym(counters->handle(), "mod_hits"));
        long sum = hits->sum();
        hits->inc();
        hits->add(4);
        EXPECT_EQ(hits->sum(), sum + 5);

        {
            auto user = percpu::Module::open(fixture("user.o"));
            ASSERT_TRUE(user) << user.error();
            auto refused = counters->close(); // user.o depends on it
            ASSERT_FALSE(refused);
            EXPECT_NE(refused.error().find("used by"), std::string::npos) << refused.error();
            ASSERT_TRUE(counters->info());
            EXPECT_GT(counters->info()->percpu_bytes, 0u);
            percpu::Module moved = std::move(*user); // ownership moves; one unload
        } // user.o unloaded here
        auto closed = counters->close();
        EXPECT_TRUE(closed) << closed.error();
        EXPECT_FALSE(counters->info());
        EXPECT_FALSE(counters->address("counters_greeting"));
    }
    ASSERT_EQ(pcpu_loader_get_stats(&after), 0);
    EXPECT_EQ(after.modules, before.modules);
    EXPECT_EQ(after.exports, before.exports);
}

TEST_F(Loader, KernelApiConformanceInAModule)
{
    // testdata/kernel/kapi.c, the checks the hosts run, as a module.
    pcpu_module *m = load("kapi_module.o");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(sym<int (*)()>(m, "kapi_run")(), 0);
    EXPECT_EQ(sym<int (*)()>(m, "kapi_run_threads")(), 0);
}

TEST_F(Loader, KernelPercpuTestModuleRefusesItsLoadCleanly)
{
    Snapshot before = Snapshot::take();
    percpu_test_checks = percpu_test_failures = 0;
    EXPECT_EQ(pcpu_dlopen(fixture("percpu_test_mod.o").c_str(), 0), nullptr);
    std::string err = pcpu_dlerror();
    EXPECT_NE(err.find("module_init function returned -11"), std::string::npos) << err; // -EAGAIN
    EXPECT_EQ(percpu_test_checks, 19); // the PT_CHECK lines of percpu_test_mod.c, all run
    EXPECT_EQ(percpu_test_failures, 0);
    expectSameState(before, Snapshot::take());
}

TEST_F(Loader, PerCpuArrayExportedToModulesAndTheHost)
{
    pcpu_module *owner = load("array_export.o");
    ASSERT_NE(owner, nullptr);
    pcpu_module *user = load("array_user.o");
    ASSERT_NE(user, nullptr);
    // The host sees the array by its C name, as a canonical pointer.
    auto *hist = static_cast<unsigned (*)[8]>(pcpu_dlsym(owner, "shared_hist"));
    ASSERT_NE(hist, nullptr);
    const unsigned n = pcpu_nr_cpus();
    for (unsigned c = 0; c < n; ++c)
        ASSERT_EQ((*per_cpu_ptr(hist, c))[3], 4u) << "cpu " << c;
    auto add3 = sym<unsigned (*)(unsigned)>(user, "user_add3");
    auto bump = sym<unsigned (*)(unsigned)>(owner, "hist_bump");
    add3(10);
    EXPECT_EQ(bump(3), 4 * n + 10 + 1); // the user's +10 and this +1, in the owner's array
    unsigned sum = 0;
    for (unsigned c = 0; c < n; ++c)
        sum += (*per_cpu_ptr(hist, c))[3];
    EXPECT_EQ(sum, 4 * n + 11);
    EXPECT_EQ(pcpu_dlclose(owner), -1); // in use by array_user.o
}

TEST_F(Loader, ObjectsOfThePreviousConventionStillLoad)
{
    // per_cpu__legacy_hits, exported under that name.
    pcpu_module *legacy = load("legacy_module.o");
    ASSERT_NE(legacy, nullptr);
    auto *byOld = static_cast<long *>(pcpu_dlsym(legacy, "per_cpu__legacy_hits"));
    auto *byName = static_cast<long *>(pcpu_dlsym(legacy, "legacy_hits"));
    ASSERT_NE(byOld, nullptr);
    EXPECT_EQ(byOld, byName);
    EXPECT_EQ(sym<int (*)()>(legacy, "legacy_selftest")(), 0);
    const long n = pcpu_nr_cpus();
    EXPECT_EQ(sym<long (*)()>(legacy, "legacy_bump")(), 3 * n + 1);
    // A current module's DECLARE_PER_CPU(long, legacy_hits) binds to it.
    pcpu_module *user = load("legacy_user.o");
    ASSERT_NE(user, nullptr);
    auto read = sym<long (*)(int)>(user, "legacy_user_read");
    long sum = 0;
    for (int c = 0; c < n; ++c)
        sum += read(c);
    EXPECT_EQ(sum, 3 * n + 1);
    // Its per_cpu__host_hits binds to the host's `host_hits`.
    pcpu_module *ref = load("legacy_host_ref.o");
    ASSERT_NE(ref, nullptr);
    long before = pcpu_sum(&host_hits);
    sym<void (*)()>(ref, "legacy_host_bump")();
    EXPECT_EQ(pcpu_sum(&host_hits), before + 1);
}

TEST_F(Loader, GlobalModulesResolveLaterOnesAndWeakDefinitionsYield)
{
    // Without PCPU_RTLD_GLOBAL, a module's plain globals are its own.
    pcpu_module *lib = load("global_lib.o");
    ASSERT_NE(lib, nullptr);
    EXPECT_EQ(pcpu_dlopen(fixture("global_user.o").c_str(), 0), nullptr);
    EXPECT_NE(std::string(pcpu_dlerror()).find("undefined symbol 'lib_value'"), std::string::npos);
    EXPECT_EQ(pcpu_dlclose(lib), 0);
    mods_.clear();

    lib = load("global_lib.o", PCPU_RTLD_GLOBAL);
    ASSERT_NE(lib, nullptr);
    pcpu_module *user = load("global_user.o");
    ASSERT_NE(user, nullptr);
    EXPECT_EQ(sym<int (*)()>(user, "use_lib")(), 42);
    // ELF's rule: the first definition in the search order, the library's
    // strong weak_pick, wins over the user's own weak one.
    EXPECT_EQ(sym<int (*)()>(user, "which_pick")(), 1);
    // The process comes before GLOBAL modules, as in dlopen's global scope.
    EXPECT_EQ(sym<int (*)()>(user, "which_pagesize")(), getpagesize());
    EXPECT_EQ(pcpu_dlclose(lib), -1) << "in use by global_user.o";
}

TEST_F(Loader, DeepbindPrefersGlobalModulesOverTheProcess)
{
    pcpu_module *lib = load("global_lib.o", PCPU_RTLD_GLOBAL);
    ASSERT_NE(lib, nullptr);
    pcpu_module *user = load("global_user.o", PCPU_RTLD_DEEPBIND);
    ASSERT_NE(user, nullptr);
    EXPECT_EQ(sym<int (*)()>(user, "which_pagesize")(), 12345);
    EXPECT_EQ(sym<int (*)()>(user, "use_lib")(), 42);
}

TEST_F(Loader, LoadUnloadCyclesDoNotGrow)
{
    // Warm up once (first use maps the module area, commits pages).
    {
        pcpu_module *m = pcpu_dlopen(fixture("small.o").c_str(), 0);
        ASSERT_NE(m, nullptr) << pcpu_dlerror();
        ASSERT_EQ(pcpu_dlclose(m), 0);
    }
    Snapshot before = Snapshot::take();
    // 10,000 cycles (1,000 under the sanitizers, which are 10-30x slower).
    const int cycles = kCompareMaps ? 10000 : 1000;
    for (int i = 0; i < cycles; ++i) {
        pcpu_module *m = pcpu_dlopen(fixture("small.o").c_str(), 0);
        ASSERT_NE(m, nullptr) << pcpu_dlerror();
        if (i % 1000 == 0) {
            auto f9 = sym<long (*)(long)>(m, "small_f9");
            ASSERT_EQ(f9(0), 45);
            ASSERT_FALSE(anyWritableExecutable());
        }
        ASSERT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
    }
    Snapshot after = Snapshot::take();
    expectSameState(before, after);
    EXPECT_EQ(after.stats.committed_per_unit, before.stats.committed_per_unit);
}

TEST_F(Loader, LoadingWhileOtherThreadsUpdatePerCpuData)
{
    std::atomic<bool> stop{false};
    std::vector<std::thread> ts;
    std::atomic<long> done{0};
    for (int t = 0; t < 3; ++t)
        ts.emplace_back([&] {
            long n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                this_cpu_inc(host_hits);
                ++n;
            }
            done += n;
        });
    long before = 0;
    for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
        before += __atomic_load_n(&per_cpu(host_hits, c), __ATOMIC_RELAXED);
    (void)before;
    for (int i = 0; i < 200; ++i) {
        pcpu_module *a = pcpu_dlopen(fixture("counters.o").c_str(), 0);
        ASSERT_NE(a, nullptr) << pcpu_dlerror();
        ASSERT_EQ(sym<int (*)()>(a, "counters_check_init")(), 0);
        ASSERT_EQ(pcpu_dlclose(a), 0);
    }
    stop = true;
    for (auto &t : ts)
        t.join();
    EXPECT_GT(done.load(), 0);
}


// ---- thread-local data ----------------------------------------------------------------

// Whether this variant's modules reach their own thread-local data by a
// model the loader supports: -fPIC (general or local dynamic, descriptors).
// -fPIE and -fno-pic give local exec, which needs a static reserve.
bool ownTlsLoads()
{
    const std::string dir = fixture("");
    return dir.find("fPIE") == std::string::npos && dir.find("nopic") == std::string::npos;
}

// In the variants whose modules use local exec: the load is refused before
// anything is mapped, naming the file, the symbol and the remedy.
void expectLocalExecRefused(const char *file, const char *symbol)
{
    Snapshot before = Snapshot::take();
    EXPECT_EQ(pcpu_dlopen(fixture(file).c_str(), 0), nullptr);
    const char *err = pcpu_dlerror();
    ASSERT_NE(err, nullptr);
    const std::string e = err;
    EXPECT_NE(e.find(file), std::string::npos) << e;
    EXPECT_NE(e.find(std::string("against '") + symbol), std::string::npos) << e;
    EXPECT_NE(e.find("local-exec"), std::string::npos) << e;
    EXPECT_NE(e.find("compile the module with -fPIC, or -ftls-model=global-dynamic"), std::string::npos) << e;
    EXPECT_NE(e.find("[unsupported-relocation]"), std::string::npos) << e;
    expectSameState(before, Snapshot::take());
}

pcpu_loader_stats loaderStats()
{
    pcpu_loader_stats st{};
    EXPECT_EQ(pcpu_loader_get_stats(&st), 0);
    return st;
}

TEST_F(Loader, ThreadLocalDataIsPerThreadFromItsTemplate)
{
    if (!ownTlsLoads())
        return expectLocalExecRefused("tls_module.o", "tls_");
    // A thread that exists before the load uses the data after it.
    std::promise<void> loaded;
    std::shared_future<void> go = loaded.get_future().share();
    struct Seen {
        int bump = 0, deref = 0, aligned = 0, locals = 0;
        long next = 0;
        void *addr = nullptr;
    } early;
    int (*bump)() = nullptr, (*deref)() = nullptr, (*aligned)() = nullptr, (*locals)() = nullptr;
    long (*next)() = nullptr;
    void *(*addr)() = nullptr;
    std::thread before([&] {
        go.wait();
        if (addr) // loaded
            early = {bump(), deref(), aligned(), locals(), next(), addr()};
    });
    pcpu_module *m = load("tls_module.o");
    if (!m) {
        loaded.set_value();
        before.join();
        FAIL();
    }
    bump = sym<int (*)()>(m, "tls_bump");
    deref = sym<int (*)()>(m, "tls_deref");
    aligned = sym<int (*)()>(m, "tls_aligned_ok");
    locals = sym<int (*)()>(m, "tls_locals");
    next = sym<long (*)()>(m, "tls_next");
    addr = sym<void *(*)()>(m, "tls_counter_addr");
    if (!bump || !deref || !aligned || !locals || !next || !addr) {
        addr = nullptr;
        loaded.set_value();
        before.join();
        FAIL();
    }
    EXPECT_EQ(bump(), 1);
    EXPECT_EQ(bump(), 2);
    EXPECT_EQ(next(), 42); // .tdata's initial value, then this thread's
    EXPECT_EQ(next(), 43);
    EXPECT_EQ(deref(), 7); // a pointer relocated in .tdata
    EXPECT_EQ(aligned(), 1);
    EXPECT_EQ(locals(), 107);
    EXPECT_EQ(locals(), 209);
    loaded.set_value();
    before.join();
    EXPECT_EQ(early.bump, 1);
    EXPECT_EQ(early.next, 42);
    EXPECT_EQ(early.deref, 7);
    EXPECT_EQ(early.aligned, 1);
    EXPECT_EQ(early.locals, 107);
    EXPECT_NE(early.addr, addr());
    // pcpu_dlsym of a thread-local variable: its address in this thread.
    EXPECT_EQ(pcpu_dlsym(m, "tls_counter"), addr());
    // Threads count on their own copies; this thread's stays.
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 1; i <= 1000; ++i)
                if (bump() != i)
                    ++wrong;
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(bump(), 3);
}

TEST_F(Loader, ThreadLocalBlocksGoWithTheirThreadsAndTheModule)
{
    if (!ownTlsLoads())
        return expectLocalExecRefused("tls_module.o", "tls_");
    const pcpu_loader_stats start = loaderStats();
    pcpu_module *m = pcpu_dlopen(fixture("tls_module.o").c_str(), 0);
    ASSERT_NE(m, nullptr) << pcpu_dlerror();
    pcpu_module_info info{};
    ASSERT_EQ(pcpu_module_get_info(m, &info), 0);
    EXPECT_GE(info.tls_bytes, 64u + 64u); // the aligned array and the rest
    EXPECT_EQ(info.tls_blocks, 0u);       // none until a thread asks
    auto bump = sym<int (*)()>(m, "tls_bump");
    EXPECT_EQ(bump(), 1);
    EXPECT_EQ(loaderStats().tls_blocks, start.tls_blocks + 1);
    // 10^4 threads, each with a block: all freed as they exit.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    constexpr int kThreads = 2000;
#else
    constexpr int kThreads = 10000;
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    const size_t heapBefore = mallinfo2().uordblks;
#endif
    std::atomic<int> wrong{0};
    for (int i = 0; i < kThreads; i += 8) {
        std::vector<std::thread> batch;
        for (int t = 0; t < 8; ++t)
            batch.emplace_back([&] {
                if (bump() != 1)
                    ++wrong;
            });
        for (auto &t : batch)
            t.join();
    }
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(loaderStats().tls_blocks, start.tls_blocks + 1);
    EXPECT_EQ(loaderStats().tls_bytes, start.tls_bytes + info.tls_bytes);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    EXPECT_LT(mallinfo2().uordblks, heapBefore + 64 * 1024) << "the heap grew with the threads";
#endif
    // A live thread's block goes at unload, with this thread's.
    std::promise<void> touched, closed;
    std::thread holder([&] {
        bump();
        touched.set_value();
        closed.get_future().wait();
    });
    touched.get_future().wait();
    ASSERT_EQ(pcpu_module_get_info(m, &info), 0);
    EXPECT_EQ(info.tls_blocks, 2u);
    EXPECT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
    EXPECT_EQ(loaderStats().tls_blocks, start.tls_blocks);
    EXPECT_EQ(loaderStats().tls_bytes, start.tls_bytes);
    closed.set_value();
    holder.join();
    EXPECT_EQ(loaderStats().tls_blocks, start.tls_blocks);
    // The slot is reused, from the template again.
    pcpu_module *again = load("tls_module.o");
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(sym<int (*)()>(again, "tls_bump")(), 1);
}

TEST_F(Loader, ProcessThreadLocalVariablesAreTheProcesssOwn)
{
    pcpu_module *m = load("tls_process.o");
    ASSERT_NE(m, nullptr);
    auto setErrno = sym<int (*)(int)>(m, "tls_set_errno");
    auto hostBump = sym<int (*)()>(m, "tls_host_bump");
    errno = 0;
    setErrno(1234);
    EXPECT_EQ(errno, 1234) << "the module wrote the errno the host reads";
    host_tls = 10;
    EXPECT_EQ(hostBump(), 11);
    EXPECT_EQ(host_tls, 11);
    std::thread other([&] {
        errno = 0;
        setErrno(77);
        EXPECT_EQ(errno, 77);
        EXPECT_EQ(hostBump(), 1); // another thread's copy
        EXPECT_EQ(host_tls, 1);
    });
    other.join();
    EXPECT_EQ(errno, 1234);
    EXPECT_EQ(host_tls, 11);
}

TEST_F(Loader, AGlobalModulesThreadLocalVariableServesTheModulesAfterIt)
{
    if (!ownTlsLoads())
        return expectLocalExecRefused("tls_global_lib.o", "shared_tls");
    pcpu_module *lib = load("tls_global_lib.o", PCPU_RTLD_GLOBAL);
    ASSERT_NE(lib, nullptr);
    pcpu_module *user = load("tls_global_user.o");
    ASSERT_NE(user, nullptr);
    auto get = sym<int (*)()>(lib, "lib_tls_get");
    auto bump = sym<int (*)()>(user, "user_tls_bump");
    EXPECT_EQ(get(), 5);
    EXPECT_EQ(bump(), 6);
    EXPECT_EQ(get(), 6) << "one variable, the library's";
    std::thread([&] {
        EXPECT_EQ(bump(), 6); // this thread's copy, from the template
        EXPECT_EQ(get(), 6);
    }).join();
    EXPECT_EQ(get(), 6);
    // The library is in use while the user is loaded.
    EXPECT_NE(pcpu_dlclose(lib), 0);
    EXPECT_NE(std::string(pcpu_dlerror()).find("used by"), std::string::npos);
}

TEST_F(Loader, CxxThreadLocalDestructorsKeepAnUnloadedModuleUntilTheyRun)
{
    if (!ownTlsLoads())
        return expectLocalExecRefused("tls_cxx.o", ""); // __tls_guard or the object
    const pcpu_loader_stats start = loaderStats();
    pcpu_module *m = pcpu_dlopen(fixture("tls_cxx.o").c_str(), 0);
    ASSERT_NE(m, nullptr) << pcpu_dlerror();
    auto touch = sym<int (*)(int)>(m, "cxx_tls_touch");
    const int destroyed = __atomic_load_n(&host_tls_destroyed, __ATOMIC_RELAXED);
    // A thread that exits destroys its object.
    std::thread([&] {
        EXPECT_EQ(touch(2), 2001);
        EXPECT_EQ(touch(3), 5002);
    }).join();
    EXPECT_EQ(__atomic_load_n(&host_tls_destroyed, __ATOMIC_RELAXED), destroyed + 1);
    // 8 threads' caches, each its own.
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 1; i <= 100; ++i)
                if (touch(t + 1) != (t + 1) * i * 1000 + i)
                    ++wrong;
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(__atomic_load_n(&host_tls_destroyed, __ATOMIC_RELAXED), destroyed + 9);
    // A thread that outlives the module: pcpu_dlclose succeeds, the
    // destructor runs at the thread's exit, then the memory goes.
    std::promise<void> touched, closed;
    std::thread holder([&] {
        EXPECT_EQ(touch(1), 1001);
        touched.set_value();
        closed.get_future().wait();
    });
    touched.get_future().wait();
    EXPECT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
    pcpu_loader_stats mid = loaderStats();
    EXPECT_EQ(mid.modules, start.modules);
    EXPECT_EQ(mid.closing, start.closing + 1);
    EXPECT_EQ(__atomic_load_n(&host_tls_destroyed, __ATOMIC_RELAXED), destroyed + 9);
    closed.set_value();
    holder.join();
    EXPECT_EQ(__atomic_load_n(&host_tls_destroyed, __ATOMIC_RELAXED), destroyed + 10);
    pcpu_loader_stats end = loaderStats();
    EXPECT_EQ(end.closing, start.closing);
    EXPECT_EQ(end.tls_blocks, start.tls_blocks);
    EXPECT_EQ(end.mapped_bytes, start.mapped_bytes);
}

} // namespace
