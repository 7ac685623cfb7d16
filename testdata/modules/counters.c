/*
 * Module A: per-CPU counters of every flavour with initial values, init
 * data holding pointers, a static per-CPU variable, an exported per-CPU
 * variable and an exported function, calls into libc, module_init/exit.
 */
#include <percpu/linux.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mod_stats {
    long events;
    const char *label;
    long *self_counter; /* points at a per-CPU variable: canonical address */
};

DEFINE_PER_CPU(long, mod_hits) = 5;
DEFINE_PER_CPU_FIRST(int, mod_first) = 1;
DEFINE_PER_CPU_PAGE_ALIGNED(char[32], mod_page) = "page";
DEFINE_PER_CPU_READ_MOSTLY(int, mod_mostly) = 3;
DEFINE_PER_CPU_SHARED_ALIGNED(struct mod_stats, mod_stats) = {7, "stats", &mod_hits};
DEFINE_PER_CPU_ALIGNED(short, mod_aligned) = 9;
static DEFINE_PER_CPU(long, mod_private) = 11;
EXPORT_PER_CPU_SYMBOL(mod_hits);

static int initialised;
static char greeting[64];

int counters_initialised(void) { return initialised; }
const char *counters_greeting(void) { return greeting; }

void counters_bump(long n)
{
    for (long i = 0; i < n; i++) {
        this_cpu_inc(mod_hits);
        this_cpu_add(mod_stats.events, 2);
        this_cpu_inc(mod_private);
    }
}
EXPORT_SYMBOL(counters_bump);

long counters_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu) s += per_cpu(mod_hits, cpu);
    return s;
}
EXPORT_SYMBOL(counters_sum);

/* Checks initial values on every CPU; 0 when all are right. */
int counters_check_init(void)
{
    int cpu;
    for_each_possible_cpu(cpu) {
        if (per_cpu(mod_first, cpu) != 1 || strcmp(per_cpu(mod_page, cpu), "page") ||
            per_cpu(mod_mostly, cpu) != 3 || per_cpu(mod_stats, cpu).events != 7 ||
            strcmp(per_cpu(mod_stats, cpu).label, "stats") ||
            per_cpu(mod_stats, cpu).self_counter != &mod_hits || per_cpu(mod_aligned, cpu) != 9 ||
            per_cpu(mod_private, cpu) != 11)
            return cpu + 1;
        if ((unsigned long)&per_cpu(mod_page, cpu) % 4096 ||
            (unsigned long)&per_cpu(mod_stats, cpu) % 64)
            return -(cpu + 1);
    }
    return 0;
}

long counters_private_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu) s += per_cpu(mod_private, cpu) + per_cpu(mod_stats, cpu).events;
    return s;
}

static int counters_init(void)
{
    initialised = 1;
    snprintf(greeting, sizeof(greeting), "hello from %s", "counters");
    void *p = malloc(16); /* libc through the PLT stubs */
    free(p);
    return 0;
}

static void counters_exit(void) { initialised = 0; }

module_init(counters_init);
module_exit(counters_exit);
