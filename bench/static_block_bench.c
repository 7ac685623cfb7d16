/*
 * A host with a static per-CPU block of PERCPU_BENCH_STATIC_KIB KiB (non-zero
 * initial values at both ends): prints the process's proportional set size
 * (Pss, a page mapped in many units counts once) as "pss_kb N" from main, and
 * "cow_units N".  bench/run.sh runs it at 2, 64 and 4096 simulated CPUs with
 * and without PERCPU_COW=0, and times its start-up.
 */
#include <percpu/linux.h>

#include <stdio.h>
#include <string.h>

struct block {
    long first;
    char pad[PERCPU_BENCH_STATIC_KIB * 1024 - 2 * sizeof(long)];
    long last;
};
DEFINE_PER_CPU(struct block, bench_block) = {1, {0}, 2};

int main(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long pss = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Pss:", 4))
            sscanf(line + 4, "%ld", &pss);
    if (f)
        fclose(f);
    struct pcpu_stats st;
    pcpu_get_stats(&st);
    printf("pss_kb %ld\ncow_units %u\nunits %u\n", pss, st.cow_units, st.nr_units);
    return this_cpu_read(bench_block.first) == 1 ? 0 : 1;
}
