// this_cpu_inc compiled with PCPU_RSEQ_NO_DISARM: what the disarm store that
// makes module unloading safe costs (bench/run.sh prints it).
#define PCPU_RSEQ_NO_DISARM 1
#include <percpu/linux.h>

#include <benchmark/benchmark.h>

DEFINE_PER_CPU(long, nodisarm_counter);

namespace {
void BM_this_cpu_inc_no_disarm(benchmark::State &state)
{
    for (auto _ : state)
        this_cpu_inc(nodisarm_counter);
}
BENCHMARK(BM_this_cpu_inc_no_disarm)->Threads(1)->UseRealTime();
} // namespace
