/* Host for the patch round-trip: prints what the module computes. */
#include <percpu/linux.h>

#include <stdio.h>

long rt_total(void);
void rt_bump(int n);
long *rt_counter_address(void);
DECLARE_PER_CPU(long, rt_counter);

int main(void)
{
    printf("start %ld\n", rt_total());
    rt_bump(1000);
    printf("after %ld\n", rt_total());
    printf("same-variable %d\n", rt_counter_address() == &rt_counter);
    long sum = 0;
    int cpu;
    for_each_possible_cpu(cpu) sum += per_cpu(rt_counter, cpu);
    printf("counter %ld\n", sum - 100L * (long)nr_cpu_ids);
    return 0;
}
