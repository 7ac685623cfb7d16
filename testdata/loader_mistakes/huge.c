/* 100 MiB of per-CPU data: more than a unit at the default stride holds. */
#include <percpu/linux.h>

DEFINE_PER_CPU(char, huge_block[100 << 20]);

int huge_touch(void)
{
    this_cpu_write(huge_block[0], 1);
    return 0;
}
