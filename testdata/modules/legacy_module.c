/*
 * An object of the previous convention, reproduced with explicit asm labels:
 * per-CPU variables named per_cpu__NAME (as DEFINE_PER_CPU emitted them in
 * the 2006 kernel and in this project before the C names), their export
 * record under that name.  It must still load, check and patch
 * (legacy_host_ref.c references a host variable in that spelling).
 */
#include <percpu/percpu.h>

__attribute__((section(".data..percpu"))) long legacy_hits __asm__("per_cpu__legacy_hits") = 3;
PCPU__EXPORT(legacy_hits, "per_cpu__legacy_hits", PCPU_EXPORT_PER_CPU, 0);

/* Bumps it; returns its sum over every CPU. */
long legacy_bump(void)
{
    pcpu_this_inc(&legacy_hits);
    return pcpu_sum(&legacy_hits);
}

/* For percpu-load --call: 0 when the initial value reached every CPU. */
int legacy_selftest(void)
{
    return pcpu_sum(&legacy_hits) == 3L * (long)pcpu_nr_cpus() ? 0 : 1;
}
