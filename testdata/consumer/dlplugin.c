/* A plugin loaded with dlopen() (a MODULE library, percpu_add_library):
 * counts in its own per-CPU variable, the library's and the program's. */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, plugin_events);
DECLARE_PER_CPU(long, lib_events);
DECLARE_PER_CPU(long, app_events);

long plugin_run(int n)
{
    for (int i = 0; i < n; i++) {
        this_cpu_inc(plugin_events);
        this_cpu_inc(lib_events);
        this_cpu_inc(app_events);
    }
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += per_cpu(plugin_events, cpu);
    return s;
}
