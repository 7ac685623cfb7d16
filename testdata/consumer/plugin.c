/* A plugin module for the consumer's host. */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, plugin_calls) = 1;
DECLARE_PER_CPU(long, host_ticks);

int plugin_tick(void)
{
    this_cpu_inc(plugin_calls);
    this_cpu_inc(host_ticks);
    return 0;
}
