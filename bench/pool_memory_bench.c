/*
 * Memory of 2 threads updating 16,384 8-byte counters, by the three ways to
 * hold them: alloc_percpu (a unit per possible CPU), a PCPU_POOL_CPU pool and
 * a PCPU_POOL_MM_CID pool.  Each thread visits every real CPU in turn (as a
 * thread of a busy program migrates) and increments every counter on each.
 *   pool_memory_bench alloc|cpu|mm_cid
 * Prints "name value" lines: units, RSS growth, address space reserved, and
 * the bytes that were made writable (what the kernel may have to back).
 * Run under PERCPU_NR_CPUS=4096 to simulate a 4096-CPU machine; one kind per
 * process, so that the figures do not mix.
 */
#define _GNU_SOURCE
#include <percpu/linux.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kCounters = 16384, kThreads = 2, kRounds = 4 };

static const char *kind;
static struct pcpu_pool *pool;
static long *counters[kCounters];

static long statusKb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static void *worker(void *arg)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long t = (long)arg;
    for (int r = 0; r < kRounds; r++) {
        for (long c = 0; c < ncpu; c++) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET((int)((c + t) % ncpu), &set);
            sched_setaffinity(0, sizeof set, &set);
            for (int i = 0; i < kCounters; i++) {
                if (pool)
                    pcpu_pool_this_inc(pool, counters[i]);
                else
                    this_cpu_inc(*counters[i]);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    kind = argc > 1 ? argv[1] : "alloc";
    pcpu_init();
    long rss0 = statusKb("VmRSS"), vm0 = statusKb("VmSize");
    unsigned units = pcpu_nr_cpus();
    if (strcmp(kind, "alloc") != 0) {
        int index = strcmp(kind, "mm_cid") == 0 ? PCPU_POOL_MM_CID : PCPU_POOL_CPU;
        pool = pcpu_pool_create(index, sizeof(long), kCounters);
        if (!pool) {
            perror("pcpu_pool_create");
            return 1;
        }
        units = pcpu_pool_nr_units(pool);
    }
    struct pcpu_stats st0, st1;
    pcpu_get_stats(&st0);
    for (int i = 0; i < kCounters; i++) {
        counters[i] = pool ? pcpu_pool_alloc(pool) : alloc_percpu(long);
        if (!counters[i]) {
            perror("alloc");
            return 1;
        }
    }
    pthread_t th[kThreads];
    for (long t = 0; t < kThreads; t++)
        pthread_create(&th[t], NULL, worker, (void *)t);
    for (int t = 0; t < kThreads; t++)
        pthread_join(th[t], NULL);
    pcpu_get_stats(&st1);
    long sum = 0;
    for (unsigned u = 0; u < units; u++)
        sum += pool ? *pcpu_pool_ptr(pool, counters[0], u) : *per_cpu_ptr(counters[0], u);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (sum != (long)kThreads * kRounds * ncpu) {
        fprintf(stderr, "wrong sum %ld\n", sum);
        return 1;
    }
    size_t writable = pool ? (size_t)units * (((size_t)kCounters * 8 + 4095) & ~(size_t)4095)
                           : st1.committed_bytes - st0.committed_bytes;
    printf("kind %s\n", kind);
    printf("units %u\n", units);
    printf("rss_growth_kb %ld\n", statusKb("VmRSS") - rss0);
    printf("reserved_growth_kb %ld\n", statusKb("VmSize") - vm0);
    printf("writable_kb %zu\n", writable / 1024);
    return 0;
}
