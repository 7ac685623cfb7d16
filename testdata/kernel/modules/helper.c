/* The second object of the clean module (ld -r): its own static per-CPU
 * variable named like counter.c's, and another module's exported one. */
#include "kstyle.h"

static KDEFINE_PER_CPU(unsigned long, kmod_local);
KDECLARE_PER_CPU(unsigned long, other_module_hits); /* defined by other.c */

unsigned long kmod_helper(void)
{
    this_cpu_inc_8(kmod_local);
    this_cpu_inc_8(other_module_hits);
    return this_cpu_read_8(kmod_local);
}
