// this_cpu_inc compiled with PCPU_RSEQ_OFFSET_TABLE: the unit offset loaded
// from pcpu_unit_offset[cpu] (the sequence before the shift), so bench/run.sh
// can print both in one run.
#define PCPU_RSEQ_OFFSET_TABLE 1
#include <percpu/linux.h>

#include <benchmark/benchmark.h>

DEFINE_PER_CPU(long, table_counter);

namespace {
void BM_this_cpu_inc_offset_table(benchmark::State &state)
{
    for (auto _ : state)
        this_cpu_inc(table_counter);
}
BENCHMARK(BM_this_cpu_inc_offset_table)->Threads(1)->Threads(2)->UseRealTime();
} // namespace
