/* A module with a per-CPU variable of its own, that needs nothing else. */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, alone_count);

void alone_work(void) { this_cpu_inc(alone_count); }
