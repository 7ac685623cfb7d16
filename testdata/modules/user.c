/*
 * Module B: uses module A's exported per-CPU variable and function, and the
 * host's exported per-CPU variable; weak undefined and COMMON symbols.
 */
#include <percpu/linux.h>

DECLARE_PER_CPU(long, mod_hits);  /* exported by module A */
DECLARE_PER_CPU(long, host_hits); /* exported by the host */
void counters_bump(long n);
extern int optional_feature(void) __attribute__((weak));

int user_common; /* COMMON with -fcommon */

void user_bump_both(long n)
{
    counters_bump(n);
    for (long i = 0; i < n; i++)
        this_cpu_inc(host_hits);
    user_common += (int)n;
}

long user_read_a(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu) s += per_cpu(mod_hits, cpu);
    return s;
}

int user_has_optional(void) { return optional_feature != 0; }
int user_common_value(void) { return user_common; }
