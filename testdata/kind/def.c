/* Defines a per-CPU variable and an ordinary one, both exported. */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, hits);
EXPORT_PER_CPU_SYMBOL(hits);
long plain_count;
EXPORT_SYMBOL(plain_count);
