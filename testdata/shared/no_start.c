/* A program with a per-CPU variable of its own, linked with the shared
 * runtime but without percpu_add_host() (no start-up object, no percpu.ld):
 * its variable is plain data the runtime was never told of, and the first
 * operation on it says so instead of updating other memory. */
#include <percpu/linux.h>

#include <stdio.h>

DEFINE_PER_CPU(long, unregistered);

int main(void)
{
    this_cpu_inc(unregistered);
    printf("updated a per-CPU variable the runtime does not know\n");
    return 0;
}
