/* A consumer of the installed package: a static per-CPU counter with an
 * initial value, a dynamic one, this_cpu updates and a sum over CPUs. */
#include <percpu/linux.h>

#include <stdio.h>

DEFINE_PER_CPU(long, requests) = 10;

int main(void)
{
    long *dyn = alloc_percpu(long);
    if (!dyn)
        return 1;
    for (int i = 0; i < 1000; i++) {
        this_cpu_inc(requests);
        this_cpu_add(*dyn, 2);
    }
    long a = 0, b = 0;
    int cpu;
    for_each_possible_cpu(cpu) {
        a += per_cpu(requests, cpu);
        b += *per_cpu_ptr(dyn, cpu);
    }
    free_percpu(dyn);
    long expect_a = 10L * (long)nr_cpu_ids + 1000;
    printf("consumer: requests %ld (expected %ld), dynamic %ld (expected 2000)\n", a, expect_a, b);
    return a == expect_a && b == 2000 ? 0 : 1;
}
