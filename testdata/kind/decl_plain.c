/* The reverse mistake: def.c's ordinary `plain_count` declared per-CPU. */
#include <percpu/linux.h>

DECLARE_PER_CPU(long, plain_count);

int decl_plain(void) { return (int)this_cpu_read(plain_count); }
