/* Seeded bug: a module's own per-CPU variable read with no segment or base
 * register (the template, not a CPU's copy). */
#include "kstyle.h"

KDEFINE_PER_CPU(unsigned long, bug_counter);
KMODINFO(license, "GPL");

unsigned long bug_read(void)
{
    this_cpu_inc_8(bug_counter);
    return *(volatile unsigned long *)&bug_counter; /* the bug */
}
