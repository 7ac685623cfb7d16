/*
 * Kind mismatches against the host's exports: a per-CPU declaration of
 * something the host exports as ordinary data, under both spellings.
 */
#include <percpu/linux.h>

DECLARE_PER_CPU(int, host_value);      /* host: EXPORT_SYMBOL(host_value) */
DECLARE_PER_CPU(long, fake_plain);     /* host: EXPORT_SYMBOL(per_cpu__fake_plain) */
int kind_read(void) { return this_cpu_read(host_value) + (int)this_cpu_read(fake_plain); }
