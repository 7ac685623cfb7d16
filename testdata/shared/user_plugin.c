/* A plugin with no per-CPU data of its own (built with
 * percpu_add_library() all the same): it only uses a variable of liba that
 * the test program does not name (so no copy relocation makes its address
 * canonical), which it reaches through its GOT. */
#include <percpu/linux.h>

DECLARE_PER_CPU_SHARED_ALIGNED(long, a_aligned);

void user_inc(void) { this_cpu_inc(a_aligned); }

long user_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += per_cpu(a_aligned, cpu);
    return s;
}
