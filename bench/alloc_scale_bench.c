/*
 * The per-CPU allocator at any number of possible CPUs.  Run it with
 * PERCPU_NR_CPUS=16 and =4096 (bench/run.sh does, and prints the ratios);
 * one "name value" line per figure:
 *   alloc_ns_{min,median,max}  one __alloc_percpu of 64 bytes, in batches of
 *                              10,000 (freed, untimed, between batches)
 *   pair_ns_{8,64,256}_*       alloc+free of one object (16 units or fewer)
 *   live_pair_ns_*             free+alloc, 64 bytes, with 10^5 objects live
 *   maps_*                     the process's mappings (/proc/self/maps lines)
 *   pss_kb_*, rss_kb_*         memory (smaps_rollup) around 10^5 x 64-byte
 *                              allocations that nothing writes
 *   metadata_bytes, live_bytes the allocator's resident metadata then
 *   read_all_*                 RSS/PSS before and after reading every CPU's
 *                              copy of both ends of a 1 MiB static variable
 *   counter_sum_ns_*           one percpu_counter_sum() of a counter this
 *                              process updated on each CPU it may run on
 */
#define _GNU_SOURCE
#include <percpu/linux.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct block {
    long first;
    char pad[1024 * 1024 - 2 * sizeof(long)];
    long last;
};
DEFINE_PER_CPU(struct block, scale_block) = {1, {0}, 2};

static double nowNs(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static long mapsCount(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    for (int ch; f && (ch = getc(f)) != EOF;)
        n += ch == '\n';
    if (f)
        fclose(f);
    return n;
}

static long rollupKb(const char *field)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long v = -1;
    size_t len = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, len) && line[len] == ':')
            sscanf(line + len + 1, "%ld", &v);
    if (f)
        fclose(f);
    return v;
}

/* Pss of the runtime's "[anon:percpu-metadata]" mappings, or -1 when the
 * kernel does not name anonymous mappings. */
static long metadataPssKb(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    long sum = -1;
    int in = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, ' ')) {
            in = strstr(line, "[anon:percpu-metadata]") != NULL;
            if (in && sum < 0)
                sum = 0;
        } else if (in && !strncmp(line, "Pss:", 4)) {
            long v;
            if (sscanf(line + 4, "%ld", &v) == 1)
                sum += v;
        }
    }
    if (f)
        fclose(f);
    return sum;
}

static int cmpDouble(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void spread(const char *name, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpDouble);
    printf("%s_min %.2f\n%s_median %.2f\n%s_max %.2f\n", name, v[0], name, v[n / 2], name, v[n - 1]);
}

static unsigned long long rng = 88172645463325252ull;
static unsigned long long next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

enum { kBatch = 10000, kRounds = 5, kLive = 100000 };

int main(void)
{
    static void *objs[kLive];
    struct pcpu_stats st;
    pcpu_get_stats(&st);
    const unsigned units = st.nr_units;
    printf("units %u\nstride %zu\n", units, st.unit_stride);

    /* Reading every CPU's copy of a static variable's two ends. */
    long rss0 = rollupKb("Rss"), pss0 = rollupKb("Pss");
    long sum = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        sum += per_cpu(scale_block.first, cpu) + per_cpu(scale_block.last, cpu);
    long rss1 = rollupKb("Rss"), pss1 = rollupKb("Pss");
    printf("read_all_rss_kb_delta %ld\nread_all_pss_kb_delta %ld\nread_all_pages_per_unit 2\n",
           rss1 - rss0, pss1 - pss0);
    if (sum != 3L * (long)units)
        return 1;

    /* percpu_counter_sum(): it reads the deltas of the CPUs that counted. */
    {
        struct percpu_counter c;
        if (percpu_counter_init(&c, 0, GFP_KERNEL))
            return 1;
        cpu_set_t saved, one;
        sched_getaffinity(0, sizeof saved, &saved);
        for (int k = 0; k < CPU_SETSIZE; k++)
            if (CPU_ISSET(k, &saved)) {
                CPU_ZERO(&one);
                CPU_SET(k, &one);
                sched_setaffinity(0, sizeof one, &one);
                percpu_counter_add(&c, 1);
            }
        sched_setaffinity(0, sizeof saved, &saved);
        double v[kRounds];
        long long total = 0;
        for (int r = 0; r < kRounds; r++) {
            double t = nowNs();
            for (int i = 0; i < 100000; i++)
                total += percpu_counter_sum(&c);
            v[r] = (nowNs() - t) / 100000;
        }
        if (total != (long long)kRounds * 100000 * CPU_COUNT(&saved))
            return 1;
        spread("counter_sum_ns", v, kRounds);
        percpu_counter_destroy(&c);
    }

    /* One allocation, in batches of new objects (each batch reaches pages
     * no allocation used before); all are freed at the end, untimed. */
    double v[kRounds];
    for (int r = 0; r < kRounds; r++) {
        double t = nowNs();
        for (int i = 0; i < kBatch; i++)
            objs[r * kBatch + i] = __alloc_percpu(64, 8);
        v[r] = (nowNs() - t) / kBatch;
    }
    for (int i = 0; i < kRounds * kBatch; i++)
        free_percpu(objs[i]);
    spread("alloc_ns", v, kRounds);

    /* 10^5 objects that nothing writes: memory, mappings, metadata. */
    memset(objs, 0, sizeof objs); /* the bench's own pages, before measuring */
    long maps0 = mapsCount();
    long metaA = metadataPssKb();
    long pssA = rollupKb("Pss"), rssA = rollupKb("Rss");
    for (int i = 0; i < kLive; i++)
        if (!(objs[i] = __alloc_percpu(64, 8)))
            return 1;
    pcpu_get_stats(&st);
    printf("maps_before %ld\nmaps_after_alloc %ld\nchunks %u\n", maps0, mapsCount(), st.nr_chunks);
    printf("pss_kb_delta %ld\nrss_kb_delta %ld\n", rollupKb("Pss") - pssA, rollupKb("Rss") - rssA);
    long metaB = metadataPssKb();
    printf("metadata_bytes %zu\nlive_bytes %zu\n", st.metadata_bytes, st.dynamic_bytes);
    printf("metadata_pss_kb %ld\nmetadata_pss_kb_delta %ld\n", metaB, metaB < 0 ? -1 : metaB - metaA);

    /* Random frees and allocations of 8..256 bytes keep the mappings bounded. */
    const int churn = units > 64 ? 2000 : 200000;
    for (int i = 0; i < churn; i++) {
        size_t k = next() % kLive;
        free_percpu(objs[k]);
        if (!(objs[k] = __alloc_percpu(8 + (next() % 32) * 8, 8)))
            return 1;
    }
    pcpu_get_stats(&st);
    printf("maps_after_churn %ld\nchunks_after_churn %u\n", mapsCount(), st.nr_chunks);

    /* free+alloc with 10^5 live (16 units or fewer: free zeroes every unit). */
    if (units <= 64) {
        double v[kRounds];
        for (int r = 0; r < kRounds; r++) {
            double t = nowNs();
            for (int i = 0; i < 1000000; i++) {
                size_t k = next() % kLive;
                free_percpu(objs[k]);
                objs[k] = __alloc_percpu(64, 8);
            }
            v[r] = (nowNs() - t) / 1e6;
        }
        spread("live_pair_ns", v, kRounds);
    }
    for (int i = 0; i < kLive; i++)
        free_percpu(objs[i]);

    if (units <= 64) {
        static const size_t sizes[] = {8, 64, 256};
        for (int s = 0; s < 3; s++) {
            for (int r = 0; r < kRounds; r++) {
                double t = nowNs();
                for (int i = 0; i < 1000000; i++) {
                    void *p = __alloc_percpu(sizes[s], 8);
                    __asm__ volatile("" : : "r"(p) : "memory");
                    free_percpu(p);
                }
                v[r] = (nowNs() - t) / 1e6;
            }
            char name[32];
            snprintf(name, sizeof name, "pair_ns_%zu", sizes[s]);
            spread(name, v, kRounds);
            for (int r = 0; r < kRounds; r++) { /* the peer, in the same process */
                double t = nowNs();
                for (int i = 0; i < 1000000; i++) {
                    void *p = malloc(sizes[s]);
                    __asm__ volatile("" : : "r"(p) : "memory");
                    free(p);
                }
                v[r] = (nowNs() - t) / 1e6;
            }
            snprintf(name, sizeof name, "malloc_pair_ns_%zu", sizes[s]);
            spread(name, v, kRounds);
        }
    }
    return 0;
}
