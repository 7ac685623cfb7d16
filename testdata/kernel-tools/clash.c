/* Kernel per-CPU code beside kernel-style shim headers, the shims included
 * before percpu's headers (default) or after them (-DPERCPU_FIRST).  Built
 * with -Werror: a redefinition is a failure. */
#ifdef PERCPU_FIRST
#include <percpu/linux.h>
#include <percpu/local_lock.h>
#include <linux/export.h>
#include <linux/preempt.h>
#else
#include <linux/module.h>
#include <linux/preempt.h>
#include <percpu/linux.h>
#include <percpu/local_lock.h>
#endif

int preempt_count;

DEFINE_PER_CPU(long, clash_hits);
EXPORT_PER_CPU_SYMBOL(clash_hits);

long clash_count(void)
{
    long sum = 0;
    int cpu;
    preempt_disable();
    this_cpu_inc(clash_hits);
    preempt_enable();
    for_each_possible_cpu(cpu)
        sum += per_cpu(clash_hits, cpu);
    return sum;
}
EXPORT_SYMBOL(clash_count);

#ifndef PERCPU_FIRST
int clash_init(void);
int clash_init(void) { return 0; }
module_init(clash_init);
#endif
