// Per-CPU variables in shared objects against the program's own, in one
// process (bench/run.sh prints the ratios):
//  - this_cpu_inc on the program's variable, on a library's variable from
//    the program (through the GOT), and on a library's static variable from
//    the library's own code (through a patched slot);
//  - dlopen+dlclose of a plugin with a per-CPU block against the same
//    plugin built plainly;
//  - start-up (posix_spawn + wait) of a program with two libraries with
//    per-CPU data against the same program built plainly, and the same
//    again with 65536 relative relocations in the program.
// Paths: PERCPU_BENCH_PLUGIN, PERCPU_BENCH_PLAIN_PLUGIN,
// PERCPU_BENCH_STARTUP, PERCPU_BENCH_STARTUP_PLAIN, PERCPU_BENCH_STARTUP_BIG,
// PERCPU_BENCH_STARTUP_BIG_PLAIN (compile definitions).
#include <percpu/linux.h>

#include <benchmark/benchmark.h>

#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

extern "C" void lib_inc_n(long n);
DECLARE_PER_CPU(long, lib_counter);
DEFINE_PER_CPU(long, host_counter);
extern char **environ;

namespace {

__attribute__((noinline)) void hostIncN(long n)
{
    for (long i = 0; i < n; i++) {
        this_cpu_inc(host_counter);
        __asm__ volatile("" ::: "memory");
    }
}

__attribute__((noinline)) void libVarIncN(long n)
{
    for (long i = 0; i < n; i++) {
        this_cpu_inc(lib_counter);
        __asm__ volatile("" ::: "memory");
    }
}

constexpr long kBatch = 1000;

void BM_this_cpu_inc_program_var(benchmark::State &state)
{
    for (auto _ : state)
        hostIncN(kBatch);
    state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_this_cpu_inc_program_var);

void BM_this_cpu_inc_library_var_from_program(benchmark::State &state)
{
    for (auto _ : state)
        libVarIncN(kBatch);
    state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_this_cpu_inc_library_var_from_program);

void BM_this_cpu_inc_library_static_in_library(benchmark::State &state)
{
    for (auto _ : state)
        lib_inc_n(kBatch);
    state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_this_cpu_inc_library_static_in_library);

void openClose(benchmark::State &state, const char *path)
{
    for (auto _ : state) {
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            state.SkipWithError(dlerror());
            return;
        }
        auto touch = reinterpret_cast<long (*)()>(dlsym(h, "plugin_touch"));
        benchmark::DoNotOptimize(touch());
        dlclose(h);
    }
}
void BM_dlopen_dlclose_percpu_plugin(benchmark::State &state) { openClose(state, PERCPU_BENCH_PLUGIN); }
void BM_dlopen_dlclose_plain_plugin(benchmark::State &state) { openClose(state, PERCPU_BENCH_PLAIN_PLUGIN); }
BENCHMARK(BM_dlopen_dlclose_percpu_plugin);
BENCHMARK(BM_dlopen_dlclose_plain_plugin);

void startUp(benchmark::State &state, const char *path)
{
    char *argv[] = {const_cast<char *>(path), nullptr};
    for (auto _ : state) {
        pid_t pid;
        int status = 0;
        if (posix_spawn(&pid, path, nullptr, nullptr, argv, environ) != 0 ||
            waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            state.SkipWithError("the start-up program failed");
            return;
        }
    }
}
void BM_startup_two_percpu_libraries(benchmark::State &state) { startUp(state, PERCPU_BENCH_STARTUP); }
void BM_startup_two_plain_libraries(benchmark::State &state) { startUp(state, PERCPU_BENCH_STARTUP_PLAIN); }
BENCHMARK(BM_startup_two_percpu_libraries)->UseRealTime();
BENCHMARK(BM_startup_two_plain_libraries)->UseRealTime();
void BM_startup_big_program_two_percpu_libraries(benchmark::State &state) { startUp(state, PERCPU_BENCH_STARTUP_BIG); }
void BM_startup_big_program_two_plain_libraries(benchmark::State &state) { startUp(state, PERCPU_BENCH_STARTUP_BIG_PLAIN); }
BENCHMARK(BM_startup_big_program_two_percpu_libraries)->UseRealTime();
BENCHMARK(BM_startup_big_program_two_plain_libraries)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
