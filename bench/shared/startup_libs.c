/* Two libraries of the start-up benchmark (built twice: STARTUP_LIB=1, 2),
 * each with per-CPU counters or, with -DPLAIN, ordinary ones. */
#ifdef PLAIN
#define COUNTER(name) long name
#define INC(name) (++(name))
#else
#include <percpu/linux.h>
#define COUNTER(name) DEFINE_PER_CPU(long, name)
#define INC(name) this_cpu_inc(name)
#endif
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
COUNTER(CAT(startup_counter, STARTUP_LIB));
COUNTER(CAT(startup_other, STARTUP_LIB));
void CAT(startup_touch, STARTUP_LIB)(void)
{
    INC(CAT(startup_counter, STARTUP_LIB));
    INC(CAT(startup_other, STARTUP_LIB));
}
