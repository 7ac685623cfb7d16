// Loading a small module (10 functions, 1 per-CPU variable): pcpu_dlopen_mem
// + 10 lookups + a call + pcpu_dlclose, against dlopen/dlclose of the same
// code built as a .so, and LLVM ORC's LLJIT adding the same .o; relocations
// per second on large modules (zlib, and a generated one with ~50,000), and
// the heap a loaded large module keeps (heap_kib: what one pcpu_dlopen_mem
// leaves allocated until its pcpu_dlclose).
// bench/run.sh runs it and prints the ratios.
#include <percpu/loader.h>
#include <percpu/percpu.h>

#include <benchmark/benchmark.h>

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

std::string envPath(const char *name)
{
    const char *p = getenv(name);
    if (!p) {
        fprintf(stderr, "loader bench: %s is not set\n", name);
        exit(2);
    }
    return p;
}

std::vector<char> readAll(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(f), {});
}

const char *kFunctions[] = {"small_f0", "small_f1", "small_f2", "small_f3", "small_f4",
                            "small_f5", "small_f6", "small_f7", "small_f8", "small_f9"};

void BM_percpu_load_unload(benchmark::State &state)
{
    std::vector<char> image = readAll(envPath("PERCPU_BENCH_SMALL_O"));
    for (auto _ : state) {
        pcpu_module *m = pcpu_dlopen_mem(image.data(), image.size(), "small.o", 0);
        if (!m) {
            state.SkipWithError(pcpu_dlerror());
            return;
        }
        void *f = nullptr;
        for (const char *name : kFunctions)
            f = pcpu_dlsym(m, name);
        benchmark::DoNotOptimize(reinterpret_cast<long (*)(long)>(f)(1));
        pcpu_dlclose(m);
    }
}
BENCHMARK(BM_percpu_load_unload)->Unit(benchmark::kMicrosecond);

void BM_dlopen_dlclose(benchmark::State &state)
{
    std::string so = envPath("PERCPU_BENCH_SMALL_SO");
    for (auto _ : state) {
        void *h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            state.SkipWithError(dlerror());
            return;
        }
        void *f = nullptr;
        for (const char *name : kFunctions)
            f = dlsym(h, name);
        benchmark::DoNotOptimize(reinterpret_cast<long (*)(long)>(f)(1));
        dlclose(h);
    }
}
BENCHMARK(BM_dlopen_dlclose)->Unit(benchmark::kMicrosecond);

// ORC: one LLJIT for the process; each iteration adds the object under a
// fresh resource tracker, looks the functions up, calls one, and removes it.
void BM_orc_lljit(benchmark::State &state)
{
    using namespace llvm;
    using namespace llvm::orc;
    static bool init = [] {
        InitializeNativeTarget();
        InitializeNativeTargetAsmPrinter();
        return true;
    }();
    (void)init;
    auto jit = LLJITBuilder().create();
    if (!jit) {
        state.SkipWithError(toString(jit.takeError()).c_str());
        return;
    }
    auto gen = DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
    if (!gen) {
        state.SkipWithError(toString(gen.takeError()).c_str());
        return;
    }
    (*jit)->getMainJITDylib().addGenerator(std::move(*gen));
    std::vector<char> image = readAll(envPath("PERCPU_BENCH_SMALL_O"));
    for (auto _ : state) {
        auto rt = (*jit)->getMainJITDylib().createResourceTracker();
        auto buf = MemoryBuffer::getMemBufferCopy(StringRef(image.data(), image.size()), "small.o");
        if (Error e = (*jit)->addObjectFile(rt, std::move(buf))) {
            state.SkipWithError(toString(std::move(e)).c_str());
            return;
        }
        uint64_t addr = 0;
        for (const char *name : kFunctions) {
            auto sym = (*jit)->lookup(name);
            if (!sym) {
                state.SkipWithError(toString(sym.takeError()).c_str());
                return;
            }
#if LLVM_VERSION_MAJOR >= 17
            addr = sym->getValue();
#else
            addr = sym->getAddress();
#endif
        }
        benchmark::DoNotOptimize(reinterpret_cast<long (*)(long)>(addr)(1));
        if (Error e = rt->remove()) {
            state.SkipWithError(toString(std::move(e)).c_str());
            return;
        }
    }
}
BENCHMARK(BM_orc_lljit)->Unit(benchmark::kMicrosecond);

void loadLarge(benchmark::State &state, const char *env, const char *name)
{
    std::vector<char> image = readAll(envPath(env));
    long relocs = 0;
    const size_t heapBefore = mallinfo2().uordblks;
    pcpu_module *kept = pcpu_dlopen_mem(image.data(), image.size(), name, 0);
    if (!kept) {
        state.SkipWithError(pcpu_dlerror());
        return;
    }
    state.counters["heap_kib"] = static_cast<double>(mallinfo2().uordblks - heapBefore) / 1024;
    pcpu_dlclose(kept);
    for (auto _ : state) {
        pcpu_module *m = pcpu_dlopen_mem(image.data(), image.size(), name, 0);
        if (!m) {
            state.SkipWithError(pcpu_dlerror());
            return;
        }
        state.PauseTiming();
        pcpu_dlclose(m);
        state.ResumeTiming();
    }
    relocs = atol(envPath(std::string(env).append("_RELOCS").c_str()).c_str());
    state.counters["relocs"] = static_cast<double>(relocs);
    state.counters["relocs_per_s"] =
        benchmark::Counter(static_cast<double>(relocs) * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate);
}

void BM_load_zlib(benchmark::State &state) { loadLarge(state, "PERCPU_BENCH_ZLIB_O", "zlib.o"); }
BENCHMARK(BM_load_zlib)->Unit(benchmark::kMicrosecond);
void BM_load_big(benchmark::State &state) { loadLarge(state, "PERCPU_BENCH_BIG_O", "big.o"); }
BENCHMARK(BM_load_big)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
