/* A member of a static archive linked into a shared object
 * (tests/shared_matrix.sh): its static per-CPU variable is reached through
 * a PC-relative address computation unless `link --shared` patched the
 * archive's members too. */
#include <percpu/linux.h>

static DEFINE_PER_CPU(long, archived_hits);

long archived_work(int n)
{
    for (int i = 0; i < n; i++)
        this_cpu_inc(archived_hits);
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += per_cpu(archived_hits, cpu);
    return s;
}

long *archived_address(void) { return &archived_hits; }
