/* libb: linked by liba and by the program; uses liba's counter, which it
 * does not link (resolved when both are loaded). */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, b_count);
EXPORT_PER_CPU_SYMBOL(b_count);

DECLARE_PER_CPU(long, a_count);

void b_work(void)
{
    this_cpu_inc(b_count);
    this_cpu_inc(a_count);
}

long *b_count_address(void) { return &b_count; }
