/* A library (DT_NEEDED of the test program) with per-CPU counters of its
 * own, exported, one static, and uses of libb's counter: libb uses a_count
 * in turn (each needs the other's block moved into its GOT). */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, a_count);
EXPORT_PER_CPU_SYMBOL(a_count);
static DEFINE_PER_CPU(long, a_private) = 3;
DEFINE_PER_CPU_SHARED_ALIGNED(long, a_aligned);
/* A per-CPU variable that holds a per-CPU address: the copies hold the
 * block's canonical address, as a kernel's per-CPU list head holds its own. */
DEFINE_PER_CPU(long *, a_self) = &a_count;
/* Aligned past a cache line: the block is placed as its variables need. */
DEFINE_PER_CPU(char, a_wide[8]) __aligned(256);

DECLARE_PER_CPU(long, b_count);

void a_work(void)
{
    this_cpu_inc(a_count);
    this_cpu_inc(b_count);
    this_cpu_inc(a_private);
    this_cpu_add(a_aligned, 2);
}

long a_private_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += per_cpu(a_private, cpu);
    return s;
}

long a_aligned_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += *per_cpu_ptr(&a_aligned, cpu);
    return s;
}

long *a_self_value(int cpu) { return per_cpu(a_self, cpu); }
long *a_count_address(void) { return &a_count; }
long *a_private_address(void) { return &a_private; }
char *a_wide_address(void) { return a_wide; }
long *a_aligned_address(void) { return &a_aligned; }
