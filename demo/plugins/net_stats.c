/*
 * Demo plugin 1: per-CPU packet counters, exported to other plugins and
 * readable by the host.
 */
#include <percpu/linux.h>

#include <stdio.h>

DEFINE_PER_CPU(unsigned long, net_packets);
DEFINE_PER_CPU_SHARED_ALIGNED(unsigned long, net_bytes);
EXPORT_PER_CPU_SYMBOL(net_packets);
EXPORT_PER_CPU_SYMBOL(net_bytes);

/* Called by the host's threads for every event. */
void net_event(unsigned long bytes)
{
    this_cpu_inc(net_packets);
    this_cpu_add(net_bytes, bytes);
}
EXPORT_SYMBOL(net_event);

static int net_init(void)
{
    printf("  [net_stats] loaded: per-CPU net_packets at %p (canonical)\n", (void *)&net_packets);
    return 0;
}
static void net_exit(void) { printf("  [net_stats] unloaded\n"); }
module_init(net_init);
module_exit(net_exit);
