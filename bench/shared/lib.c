/* The library of the shared-object benchmark: a per-CPU counter of its own
 * (exported, reached by the program through the GOT) and a static one
 * (reached through a patched slot), each incremented in a loop here. */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, lib_counter);
EXPORT_PER_CPU_SYMBOL(lib_counter);
static DEFINE_PER_CPU(long, lib_static_counter);

void lib_inc_n(long n)
{
    for (long i = 0; i < n; i++) {
        this_cpu_inc(lib_static_counter);
        __asm__ volatile("" ::: "memory");
    }
}
