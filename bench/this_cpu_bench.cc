// this_cpu operations against the peers a user would otherwise pick, and
// pcpu_alloc/pcpu_free against malloc/free.  bench/run.sh runs this binary
// (once more with PERCPU_RSEQ=0 for the atomic fallback) and prints ratios.
#include <percpu/linux.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <sched.h>
#include <sys/rseq.h>
#include <thread>
#include <vector>

DEFINE_PER_CPU(long, bench_counter);

namespace {

// The scaling table's thread counts: 1 to the machine's CPUs (at least 2).
int maxThreads()
{
    return std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
}

// ---- peers --------------------------------------------------------------------

thread_local long tlsCounter;

void BM_thread_local_inc(benchmark::State &state)
{
    for (auto _ : state) {
        ++tlsCounter;
        benchmark::ClobberMemory(); // keep one increment per iteration
    }
}
BENCHMARK(BM_thread_local_inc)->DenseThreadRange(1, maxThreads())->UseRealTime();

std::atomic<long> sharedCounter;

void BM_shared_atomic_inc(benchmark::State &state)
{
    for (auto _ : state)
        sharedCounter.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_shared_atomic_inc)->DenseThreadRange(1, maxThreads())->UseRealTime();

struct alignas(64) PaddedCounter {
    std::atomic<long> v;
};
PaddedCounter cpuCounters[PCPU_MAX_CPUS];

void BM_getcpu_array_atomic_inc(benchmark::State &state)
{
    for (auto _ : state) {
        int cpu = sched_getcpu();
        cpuCounters[cpu < 0 ? 0 : cpu].v.fetch_add(1, std::memory_order_relaxed);
    }
}
BENCHMARK(BM_getcpu_array_atomic_inc)->Threads(1)->Threads(2)->UseRealTime();

// The floor: a hand-written rseq add on glibc's area into a padded array,
// with nothing else around it (no init check, no fallback, no table).
long bareCounters[PCPU_MAX_CPUS * 8];

inline void bareRseqAdd(long v)
{
    __asm__ __volatile__(".pushsection __rseq_cs, \"aw\"\n\t"
                         ".balign 32\n\t"
                         "3: .long 0, 0\n\t"
                         ".quad 1f, (2f - 1f), 4f\n\t"
                         ".popsection\n\t"
                         "6: leaq 3b(%%rip), %%rax\n\t"
                         "movq %%rax, %%fs:8(%[off])\n\t"
                         "1: movl %%fs:4(%[off]), %%eax\n\t"
                         "shlq $6, %%rax\n\t"
                         "addq %[v], (%[arr],%%rax)\n\t"
                         "2:\n\t"
                         ".pushsection __rseq_failure, \"ax\"\n\t"
                         ".byte 0x0f, 0xb9, 0x3d\n\t"
                         ".long 0x53053053\n\t"
                         "4: jmp 6b\n\t"
                         ".popsection\n\t"
                         :
                         : [off] "r"(__rseq_offset), [arr] "r"(bareCounters), [v] "r"(v)
                         : "rax", "memory", "cc");
}

void BM_bare_rseq_add(benchmark::State &state)
{
    if (__rseq_size == 0) {
        state.SkipWithError("glibc did not register rseq");
        return;
    }
    for (auto _ : state)
        bareRseqAdd(1);
}
BENCHMARK(BM_bare_rseq_add)->Threads(1)->Threads(2)->UseRealTime();

// ---- libpercpu ---------------------------------------------------------------------

void BM_this_cpu_inc(benchmark::State &state)
{
    for (auto _ : state)
        this_cpu_inc(bench_counter);
}
BENCHMARK(BM_this_cpu_inc)->DenseThreadRange(1, maxThreads())->UseRealTime();

// Pools: the same increment on a pool object, indexed by CPU and by mm_cid.
void poolInc(benchmark::State &state, int index)
{
    static pcpu_pool *pools[2];
    static long *objs[2];
    if (state.thread_index() == 0 && !pools[index]) {
        pools[index] = pcpu_pool_create(index, sizeof(long), 16);
        objs[index] = pools[index] ? static_cast<long *>(pcpu_pool_alloc(pools[index])) : nullptr;
    }
    for (auto _ : state)
        pcpu_pool_this_inc(pools[index], objs[index]);
    if (!pcpu_pool_fast(pools[index]))
        state.SetLabel("atomic fallback");
}
void BM_pool_cpu_inc(benchmark::State &state) { poolInc(state, PCPU_POOL_CPU); }
void BM_pool_mm_cid_inc(benchmark::State &state) { poolInc(state, PCPU_POOL_MM_CID); }
BENCHMARK(BM_pool_cpu_inc)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_pool_mm_cid_inc)->Threads(1)->Threads(2)->UseRealTime();

void BM_this_cpu_add(benchmark::State &state)
{
    long *dyn = alloc_percpu(long);
    for (auto _ : state)
        this_cpu_add(*dyn, 3);
    free_percpu(dyn);
}
BENCHMARK(BM_this_cpu_add)->Threads(1)->UseRealTime();

void BM_this_cpu_add_return(benchmark::State &state)
{
    for (auto _ : state)
        benchmark::DoNotOptimize(this_cpu_add_return(bench_counter, 1));
}
BENCHMARK(BM_this_cpu_add_return);

// ---- allocation ---------------------------------------------------------------------

void BM_pcpu_alloc_free(benchmark::State &state)
{
    size_t size = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        void *p = pcpu_alloc(size, 8);
        benchmark::DoNotOptimize(p);
        pcpu_free(p);
    }
}
BENCHMARK(BM_pcpu_alloc_free)->Arg(8)->Arg(64)->Arg(256);

void BM_malloc_free(benchmark::State &state)
{
    size_t size = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        void *p = malloc(size);
        benchmark::DoNotOptimize(p);
        free(p);
    }
}
BENCHMARK(BM_malloc_free)->Arg(8)->Arg(64)->Arg(256);

// Mixed sizes 8..256 with many objects live: alloc+free pairs in random
// order over a working set of `range(0)` live objects.
void BM_pcpu_alloc_free_live(benchmark::State &state)
{
    const size_t live = static_cast<size_t>(state.range(0));
    std::mt19937 rng(1);
    std::vector<void *> objs(live);
    for (auto &p : objs)
        p = pcpu_alloc(8 + (rng() % 32) * 8, 8);
    for (auto _ : state) {
        size_t k = rng() % live;
        pcpu_free(objs[k]);
        objs[k] = pcpu_alloc(8 + (rng() % 32) * 8, 8);
        benchmark::DoNotOptimize(objs[k]);
    }
    for (void *p : objs)
        pcpu_free(p);
}
BENCHMARK(BM_pcpu_alloc_free_live)->Arg(1000)->Arg(1000000)->Unit(benchmark::kNanosecond);

// The same pattern with malloc/free (the peer; it does not zero on free).
void BM_malloc_free_live(benchmark::State &state)
{
    const size_t live = static_cast<size_t>(state.range(0));
    std::mt19937 rng(1);
    std::vector<void *> objs(live);
    for (auto &p : objs)
        p = malloc(8 + (rng() % 32) * 8);
    for (auto _ : state) {
        size_t k = rng() % live;
        free(objs[k]);
        objs[k] = malloc(8 + (rng() % 32) * 8);
        benchmark::DoNotOptimize(objs[k]);
    }
    for (void *p : objs)
        free(p);
}
BENCHMARK(BM_malloc_free_live)->Arg(1000)->Arg(1000000)->Unit(benchmark::kNanosecond);

// Time to reach 1,000,000 live allocations of 8..256 bytes, per allocation.
void BM_pcpu_alloc_1M(benchmark::State &state)
{
    std::vector<void *> objs(1000000);
    std::mt19937 rng(2);
    for (auto _ : state) {
        for (auto &p : objs)
            p = pcpu_alloc(8 + (rng() % 32) * 8, 8);
        state.PauseTiming();
        for (void *p : objs)
            pcpu_free(p);
        state.ResumeTiming();
    }
    state.counters["ns_per_alloc"] = benchmark::Counter(
        static_cast<double>(objs.size()) * static_cast<double>(state.iterations()),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_pcpu_alloc_1M)->Iterations(2)->Unit(benchmark::kMillisecond);

} // namespace

// ---- counters: percpu_counter and local_lock against their peers ------------------

// A shared 64-bit counter under a mutex: what code without per-CPU data does
// when it needs an exact total.
std::mutex counterMutex;
long mutexCounter;

void BM_mutex_counter_inc(benchmark::State &state)
{
    for (auto _ : state) {
        std::lock_guard<std::mutex> g(counterMutex);
        ++mutexCounter;
    }
}
BENCHMARK(BM_mutex_counter_inc)->Threads(1)->Threads(2)->UseRealTime();

struct percpu_counter benchCounter;

void BM_percpu_counter_inc(benchmark::State &state)
{
    if (state.thread_index() == 0 && percpu_counter_init(&benchCounter, 0, GFP_KERNEL) != 0)
        state.SkipWithError("percpu_counter_init failed");
    for (auto _ : state)
        percpu_counter_inc(&benchCounter);
}
BENCHMARK(BM_percpu_counter_inc)->DenseThreadRange(1, maxThreads())->UseRealTime();

struct BenchStock {
    local_lock_t lock;
    long n;
};
DEFINE_PER_CPU(BenchStock, benchStock);

// local_lock() takes the CPU's lock and holds the CPU for the thread; no
// system call unless the thread was moved and used a this_cpu operation.
void BM_local_lock_inc(benchmark::State &state)
{
    for (auto _ : state) {
        local_lock(&benchStock.lock);
        this_cpu_ptr(&benchStock)->n++;
        local_unlock(&benchStock.lock);
    }
}
BENCHMARK(BM_local_lock_inc)->Threads(1)->Threads(2)->UseRealTime();

BENCHMARK_MAIN();

// ---- percpu_ref: get+put against a shared atomic reference count -------------------

namespace {

percpu_ref benchRef;
std::atomic<long> sharedRefcount{1};
void noRelease(percpu_ref *) {}

void BM_percpu_ref_get_put(benchmark::State &state)
{
    if (state.thread_index() == 0 && !benchRef.data)
        percpu_ref_init(&benchRef, noRelease, 0, 0);
    for (auto _ : state) {
        percpu_ref_get(&benchRef);
        percpu_ref_put(&benchRef);
    }
}
BENCHMARK(BM_percpu_ref_get_put)->DenseThreadRange(1, maxThreads())->UseRealTime();

void BM_shared_refcount_get_put(benchmark::State &state)
{
    for (auto _ : state) {
        sharedRefcount.fetch_add(1, std::memory_order_relaxed);
        sharedRefcount.fetch_sub(1, std::memory_order_release);
    }
}
BENCHMARK(BM_shared_refcount_get_put)->DenseThreadRange(1, maxThreads())->UseRealTime();

} // namespace

// ---- pcpu_pool: alloc+free against malloc+free ---------------------------------------

namespace {

void BM_pool_alloc_free(benchmark::State &state)
{
    const size_t size = static_cast<size_t>(state.range(0));
    pcpu_pool *pool = pcpu_pool_create(PCPU_POOL_CPU, size, 1024);
    if (!pool) {
        state.SkipWithError("pcpu_pool_create failed");
        return;
    }
    for (auto _ : state) {
        void *p = pcpu_pool_alloc(pool);
        benchmark::DoNotOptimize(p);
        pcpu_pool_free(pool, p);
    }
    pcpu_pool_destroy(pool);
}
BENCHMARK(BM_pool_alloc_free)->Arg(8)->Arg(64)->Arg(256);

} // namespace
