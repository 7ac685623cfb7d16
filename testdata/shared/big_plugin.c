/* A plugin with a 64 KiB per-CPU block, opened and closed many times: every
 * copy must be zero or initial on each open. */
#include <percpu/linux.h>

DEFINE_PER_CPU(char, big[65536]);
DEFINE_PER_CPU(long, initial) = 42;

/* Checks every CPU's copy, then writes this CPU's.  Returns 0 when every
 * copy was zero (big) and 42 (initial), else 1 + the first bad CPU. */
int big_check_and_dirty(void)
{
    int cpu;
    for_each_possible_cpu(cpu) {
        const char *b = per_cpu(big, cpu);
        for (int i = 0; i < 65536; i += 512)
            if (b[i])
                return 1 + cpu;
        if (per_cpu(initial, cpu) != 42)
            return 1 + cpu;
    }
    char *mine = get_cpu_var(big);
    for (int i = 0; i < 65536; i += 512)
        mine[i] = 1;
    put_cpu_var(big);
    this_cpu_write(initial, 7);
    return 0;
}

long *big_initial_address(void) { return &initial; }
