/*
 * A module-like object with per-CPU data of every flavour: initial values,
 * static variables, init data holding pointers (to per-CPU and ordinary
 * data), arrays, and code that uses them the way kernel code does.  The
 * patch round-trip test links a host with this object as compiled, patched,
 * and patched --indirect, and compares what the programs print.
 */
#include <percpu/linux.h>

struct stats {
    long hits;
    long misses;
    const char *name;
};

int ordinary_value = 7;

DEFINE_PER_CPU(long, rt_counter) = 100;
DEFINE_PER_CPU_FIRST(int, rt_first) = 1;
DEFINE_PER_CPU_PAGE_ALIGNED(char[64], rt_page) = "page-aligned";
DEFINE_PER_CPU_READ_MOSTLY(int *, rt_ptr) = &ordinary_value;
DEFINE_PER_CPU_SHARED_ALIGNED(struct stats, rt_stats) = {1, 2, "stats"};
DEFINE_PER_CPU_ALIGNED(short, rt_short) = 3;
static DEFINE_PER_CPU(int[4], rt_array) = {10, 20, 30, 40};
static DEFINE_PER_CPU(long, rt_local) = 5;
/* Init data pointing into the per-CPU block itself (a relocation inside it). */
DEFINE_PER_CPU(long *, rt_self) = &rt_counter;

long *rt_counter_address(void) { return &rt_counter; }

void rt_bump(int n)
{
    for (int i = 0; i < n; i++) {
        this_cpu_inc(rt_counter);
        this_cpu_add(rt_stats.hits, 2);
        this_cpu_inc(rt_local);
        this_cpu_add(rt_array[i & 3], 1);
    }
}

long rt_total(void)
{
    long total = 0;
    int cpu;
    for_each_possible_cpu(cpu) {
        total += per_cpu(rt_counter, cpu) + per_cpu(rt_stats, cpu).hits + per_cpu(rt_stats, cpu).misses;
        total += per_cpu(rt_first, cpu) + per_cpu(rt_short, cpu) + per_cpu(rt_local, cpu);
        total += *per_cpu(rt_ptr, cpu);
        for (int k = 0; k < 4; k++)
            total += per_cpu(rt_array, cpu)[k];
        total += per_cpu(rt_page, cpu)[0] + per_cpu(rt_stats, cpu).name[0];
        /* The template holds the canonical address (never dereferenced: it faults). */
        total += per_cpu(rt_self, cpu) == &rt_counter ? 1000 : 0;
    }
    return total;
}
