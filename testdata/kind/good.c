/* Uses def.c's variables as what they are. */
#include <percpu/linux.h>

DECLARE_PER_CPU(long, hits);
extern long plain_count;

int good(void)
{
    this_cpu_inc(hits);
    plain_count++;
    return 0;
}
