/*
 * The reverse mistake: a plain `extern` of a variable that the host defines
 * with DEFINE_PER_CPU and exports with EXPORT_PER_CPU_SYMBOL.  Reading it
 * would read the template, never a CPU's copy; the loader refuses the
 * module because the object has no DECLARE_PER_CPU record for `host_hits`.
 */
extern long host_hits; /* host: DEFINE_PER_CPU(long, host_hits) + EXPORT_PER_CPU_SYMBOL */

long plain_read(void) { return host_hits; }
