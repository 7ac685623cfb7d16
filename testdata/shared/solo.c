/* A library with per-CPU data and nothing else to resolve. */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, solo_count);

long solo_work(void)
{
    this_cpu_inc(solo_count);
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += per_cpu(solo_count, cpu);
    return s;
}
