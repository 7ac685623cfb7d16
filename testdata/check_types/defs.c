/* Definitions for check's type-mismatch rule (tests/check_types.sh). */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, hits);
DEFINE_PER_CPU(int, misses);
DEFINE_PER_CPU(int[8], slots);
