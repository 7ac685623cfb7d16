/* A second object for `percpu-elfpatch link`: it joins module.c's block. */
#include <percpu/linux.h>

DEFINE_PER_CPU(int, rt_extra) = 9;
int rt_extra_value(int cpu) { return per_cpu(rt_extra, cpu); }
