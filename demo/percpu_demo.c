/*
 * percpu-demo: threads bump per-CPU counters, written with the kernel's API.
 *
 *   percpu-demo [THREADS [INCREMENTS]]
 *
 * Each thread migrates between CPUs (it changes its affinity every 4096
 * increments) while it counts into a static per-CPU counter (DEFINE_PER_CPU)
 * and a dynamic one (alloc_percpu); the program then prints the per-CPU table,
 * the totals (which must equal THREADS * INCREMENTS), and the runtime's usage.
 */
#define _GNU_SOURCE
#include <percpu/linux.h>

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

DEFINE_PER_CPU(uint64_t, demo_events);
DEFINE_PER_CPU_SHARED_ALIGNED(uint64_t, demo_bytes);
static uint64_t *demo_dynamic; /* alloc_percpu(uint64_t) */
static long increments = 1000000;

static void *worker(void *arg)
{
    long id = (long)arg;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < increments; i++) {
        if ((i & 4095) == 0 && ncpu > 1) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET((int)((id + i / 4096) % ncpu), &set);
            sched_setaffinity(0, sizeof(set), &set);
        }
        this_cpu_inc(demo_events);
        this_cpu_add(demo_bytes, 64);
        this_cpu_inc(*demo_dynamic);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long nthreads = argc > 1 ? atol(argv[1]) : 4;
    if (argc > 2)
        increments = atol(argv[2]);
    if (nthreads < 1 || nthreads > 1024 || increments < 0) {
        fprintf(stderr, "usage: %s [THREADS (1..1024) [INCREMENTS]]\n", argv[0]);
        return 2;
    }
    demo_dynamic = alloc_percpu(uint64_t);
    if (!demo_dynamic) {
        perror("alloc_percpu");
        return 1;
    }

    pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
    for (long i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (long i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    free(t);

    printf("%-6s %14s %14s %14s\n", "cpu", "events", "bytes", "dynamic");
    uint64_t ev = 0, by = 0, dy = 0;
    int cpu;
    for_each_possible_cpu(cpu) {
        uint64_t e = per_cpu(demo_events, cpu), b = per_cpu(demo_bytes, cpu);
        uint64_t d = *per_cpu_ptr(demo_dynamic, cpu);
        ev += e;
        by += b;
        dy += d;
        if (e || b || d || cpu < 8)
            printf("%-6d %14" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n", cpu, e, b, d);
    }
    uint64_t expect = (uint64_t)nthreads * (uint64_t)increments;
    printf("%-6s %14" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n", "total", ev, by, dy);
    printf("expected %" PRIu64 " events, %" PRIu64 " bytes: %s\n", expect, expect * 64,
           ev == expect && by == expect * 64 && dy == expect ? "exact" : "MISMATCH");

    struct pcpu_stats st;
    pcpu_get_stats(&st);
    printf("units %u, stride %zu KiB, chunks %u, cpu source %s\n", st.nr_units,
           st.unit_stride >> 10, st.nr_chunks, pcpu_cpu_source_name(st.cpu_source));
    printf("per unit: static %zu B, dynamic %zu B in %zu objects, committed %zu B\n",
           st.static_bytes, st.dynamic_bytes, st.dynamic_allocations, st.committed_per_unit);
    free_percpu(demo_dynamic);
    return ev == expect && by == expect * 64 && dy == expect ? 0 : 1;
}
