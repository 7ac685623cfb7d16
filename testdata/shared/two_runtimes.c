/* A program linked with libpercpu.a that links a library linked with
 * libpercpu.so.0: two runtimes, refused at start-up with both named. */
#include <percpu/linux.h>

#include <stdio.h>

DEFINE_PER_CPU(long, program_count);
long solo_work(void);

int main(void)
{
    this_cpu_inc(program_count);
    printf("started with two runtimes: %ld\n", solo_work());
    return 0;
}
