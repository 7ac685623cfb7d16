/*
 * Demo plugin 2: a per-CPU latency histogram; it also counts into
 * net_stats' exported per-CPU variable and the host's.
 */
#include <percpu/linux.h>

#include <stdio.h>

DEFINE_PER_CPU(unsigned long[4], lat_buckets);
DECLARE_PER_CPU(unsigned long, net_packets); /* from net_stats */
DECLARE_PER_CPU(unsigned long, host_events); /* from the host */

void latency_event(unsigned long nanoseconds)
{
    int bucket = nanoseconds < 100 ? 0 : nanoseconds < 1000 ? 1 : nanoseconds < 10000 ? 2 : 3;
    this_cpu_inc(lat_buckets[bucket]);
    this_cpu_inc(net_packets);
    this_cpu_inc(host_events);
}

static int lat_init(void)
{
    printf("  [latency] loaded: uses net_stats' and the host's per-CPU counters\n");
    return 0;
}
module_init(lat_init);
