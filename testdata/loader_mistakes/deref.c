/* Dereferences a canonical per-CPU address (through a volatile pointer, out
 * of the static check's sight): the guard, on by default in percpu-load,
 * explains the fault. */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, guarded_var);
long *volatile escape;

int touch_canonical(void)
{
    escape = &guarded_var;
    return (int)*escape;
}
