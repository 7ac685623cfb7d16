/* Declarations of defs.c's variables: `hits` with the wrong type (int where
 * it is defined long), `misses` and `slots` as defined. */
#include <percpu/linux.h>

DECLARE_PER_CPU(int, hits);
DECLARE_PER_CPU(int, misses);
DECLARE_PER_CPU(int[8], slots);

int use_all(void)
{
    this_cpu_inc(hits);
    this_cpu_inc(misses);
    return this_cpu_read(slots[1]);
}
