// this_cpu_inc compiled two ways in one program: as percpu_add_host()
// compiles a program (-mno-direct-extern-access: the runtime's variables
// and other objects' per-CPU variables through the GOT, what shared objects'
// variables need), and with the compiler's default (direct access: the
// runtime's variables copied into the program).  bench/run.sh prints the
// ratio.  This file is compiled with the default; this_cpu_bench.cc has the
// percpu_add_host() flags.
#include <percpu/linux.h>

#include <benchmark/benchmark.h>

DECLARE_PER_CPU(long, bench_counter);

namespace {

void BM_this_cpu_inc_direct_access(benchmark::State &state)
{
    for (auto _ : state)
        this_cpu_inc(bench_counter);
}
BENCHMARK(BM_this_cpu_inc_direct_access)->Threads(1)->Threads(2)->UseRealTime();

} // namespace
