/* A per-CPU array exported to other modules and to the host, kernel style. */
#include <percpu/linux.h>

typedef unsigned int u32;

DEFINE_PER_CPU(u32, shared_hist[8]) ____cacheline_aligned = {1, 2, 3, 4, 5, 6, 7, 8};
EXPORT_PER_CPU_SYMBOL(shared_hist);

/* Adds 1 to this CPU's bucket `i`; returns the sum of bucket i over CPUs. */
u32 hist_bump(unsigned int i)
{
    this_cpu_inc(shared_hist[i & 7]);
    u32 sum = 0;
    int cpu;
    for_each_possible_cpu(cpu) sum += per_cpu(shared_hist[i & 7], cpu);
    return sum;
}
EXPORT_SYMBOL(hist_bump);
