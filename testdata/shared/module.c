/* A relocatable module (pcpu_dlopen) that uses the plugin's and liba's
 * exported counters. */
#include <percpu/linux.h>

DECLARE_PER_CPU(long, p_count);
DECLARE_PER_CPU(long, a_count);

void m_work(void)
{
    this_cpu_inc(p_count);
    this_cpu_inc(a_count);
}
