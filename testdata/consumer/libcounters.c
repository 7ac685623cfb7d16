/* A shared library with per-CPU data (percpu_add_library): its counter is
 * used by the program and by a dlopen() plugin. */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, lib_events);
EXPORT_PER_CPU_SYMBOL(lib_events);
static DEFINE_PER_CPU(long, lib_calls) = 1;

void lib_event(void)
{
    this_cpu_inc(lib_events);
    this_cpu_inc(lib_calls);
}

long lib_calls_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += per_cpu(lib_calls, cpu);
    return s;
}
