// this_cpu_inc compiled with PCPU_RSEQ_UNIT_SHIFT: the unit offset computed
// as base + (cpu << log2(stride)) instead of loaded from pcpu_unit_offset[],
// so bench/run.sh can print both sequences from one run.
#define PCPU_RSEQ_UNIT_SHIFT 1
#include <percpu/linux.h>

#include <benchmark/benchmark.h>

DEFINE_PER_CPU(long, shift_counter);

namespace {
void BM_this_cpu_inc_unit_shift(benchmark::State &state)
{
    for (auto _ : state)
        this_cpu_inc(shift_counter);
}
BENCHMARK(BM_this_cpu_inc_unit_shift)->Threads(1)->Threads(2)->UseRealTime();
} // namespace
