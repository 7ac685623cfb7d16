/*
 * percpu-plugin-demo: a host that loads plugin modules (.o), runs threads
 * that migrate between CPUs while bumping per-CPU counters defined by the host
 * and by the plugins, prints the per-CPU table and unloads.
 *
 *   percpu-plugin-demo NET_STATS.o LATENCY.o [THREADS [EVENTS]]
 */
#define _GNU_SOURCE
#include <percpu/linux.h>
#include <percpu/loader.h>

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

DEFINE_PER_CPU(unsigned long, host_events);
EXPORT_PER_CPU_SYMBOL(host_events);

static void (*net_event)(unsigned long);
static void (*latency_event)(unsigned long);
static long events = 200000;

static void *worker(void *arg)
{
    long id = (long)arg, ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < events; i++) {
        if ((i & 1023) == 0 && ncpu > 1) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET((int)((id + i / 1024) % ncpu), &set);
            sched_setaffinity(0, sizeof(set), &set);
        }
        net_event(64 + (unsigned long)(i % 1400));
        latency_event((unsigned long)(i * 37 % 20000));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s NET_STATS.o LATENCY.o [THREADS [EVENTS]]\n", argv[0]);
        return 2;
    }
    long nthreads = argc > 3 ? atol(argv[3]) : 4;
    if (argc > 4)
        events = atol(argv[4]);
    pcpu_module *net = pcpu_dlopen(argv[1], 0);
    if (!net) {
        fprintf(stderr, "%s\n", pcpu_dlerror());
        return 2;
    }
    pcpu_module *lat = pcpu_dlopen(argv[2], 0);
    if (!lat) {
        fprintf(stderr, "%s\n", pcpu_dlerror());
        pcpu_dlclose(net);
        return 2;
    }
    net_event = (void (*)(unsigned long))pcpu_dlsym(net, "net_event");
    latency_event = (void (*)(unsigned long))pcpu_dlsym(lat, "latency_event");
    unsigned long *packets = pcpu_dlsym(net, "net_packets");
    unsigned long *bytes = pcpu_dlsym(net, "net_bytes");
    unsigned long(*buckets)[4] = pcpu_dlsym(lat, "lat_buckets");
    if (!net_event || !latency_event || !packets || !bytes || !buckets) {
        fprintf(stderr, "missing symbol: %s\n", pcpu_dlerror());
        return 2;
    }

    pthread_t t[64];
    if (nthreads < 1 || nthreads > 64)
        nthreads = 4;
    for (long i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (long i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);

    printf("  %-5s %12s %12s %14s %10s %10s %10s %10s\n", "cpu", "host_events", "net_packets",
           "net_bytes", "<100ns", "<1us", "<10us", ">=10us");
    unsigned long th = 0, tp = 0, tb = 0, tl[4] = {0};
    int cpu;
    for_each_possible_cpu(cpu) {
        unsigned long h = per_cpu(host_events, cpu), p = *per_cpu_ptr(packets, cpu);
        unsigned long b = *per_cpu_ptr(bytes, cpu);
        unsigned long *l = *per_cpu_ptr(buckets, cpu);
        th += h, tp += p, tb += b;
        for (int k = 0; k < 4; k++)
            tl[k] += l[k];
        if (h || p || cpu < 4)
            printf("  %-5d %12lu %12lu %14lu %10lu %10lu %10lu %10lu\n", cpu, h, p, b, l[0], l[1], l[2], l[3]);
    }
    printf("  %-5s %12lu %12lu %14lu %10lu %10lu %10lu %10lu\n", "total", th, tp, tb, tl[0], tl[1], tl[2], tl[3]);
    unsigned long n = (unsigned long)nthreads * (unsigned long)events;
    int exact = th == n && tp == 2 * n && tl[0] + tl[1] + tl[2] + tl[3] == n;
    printf("  expected host_events %lu, net_packets %lu: %s\n", n, 2 * n, exact ? "exact" : "MISMATCH");

    struct pcpu_stats st;
    pcpu_get_stats(&st);
    struct pcpu_module_info a, b;
    pcpu_module_get_info(net, &a);
    pcpu_module_get_info(lat, &b);
    printf("  per-CPU bytes per unit: host %zu, %s %zu, %s %zu; committed %zu per unit\n",
           st.static_bytes, a.name, a.percpu_bytes, b.name, b.percpu_bytes, st.committed_per_unit);
    if (pcpu_dlclose(net) == 0)
        printf("  unexpected: net_stats unloaded while latency uses it\n");
    else
        printf("  dlclose(net_stats) refused while latency uses it: %s\n", pcpu_dlerror());
    pcpu_dlclose(lat);
    pcpu_dlclose(net);
    return exact ? 0 : 1;
}
