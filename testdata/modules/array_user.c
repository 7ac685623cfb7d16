/* Uses another module's per-CPU array through DECLARE_PER_CPU. */
#include <percpu/linux.h>

typedef unsigned int u32;

DECLARE_PER_CPU(u32, shared_hist[8]);

/* Adds n to this CPU's bucket 3 through the array's address, as code that
 * passes per-CPU arrays around does. */
u32 user_add3(u32 n)
{
    u32 *mine = this_cpu_ptr(shared_hist);
    (void)mine;
    this_cpu_add(shared_hist[3], n);
    u32 (*whole)[8] = per_cpu_ptr(&shared_hist, 0);
    return (*whole)[3];
}
