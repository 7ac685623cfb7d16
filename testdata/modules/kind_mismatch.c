/*
 * Kind mismatches against the host's exports, each one the loader refuses:
 *  - a DECLARE_PER_CPU of something the host exports as ordinary data;
 *  - a reference of the 2006 convention (per_cpu__NAME, per-CPU by its
 *    spelling) to an ordinary export that carries that name;
 *  - a per-CPU declaration of a name that only the process has (libc's
 *    `opterr`): per-CPU references never bind to process symbols.
 */
#include <percpu/linux.h>

DECLARE_PER_CPU(int, host_value); /* host: EXPORT_SYMBOL(host_value) */

/* The 2006 spelling, as an object of that convention would reference it
 * (host: EXPORT_SYMBOL(per_cpu__fake_plain) of an ordinary long). */
extern __attribute__((section(".data..percpu"))) long legacy_fake_plain
    __asm__("per_cpu__fake_plain");

DECLARE_PER_CPU(int, opterr);

int kind_read(void)
{
    return this_cpu_read(host_value) + (int)this_cpu_read(legacy_fake_plain) + this_cpu_read(opterr);
}
