/* The previous convention's reference to a host per-CPU variable: the host
 * exports `host_hits` (its C name), this object says per_cpu__host_hits. */
#include <percpu/percpu.h>

extern __attribute__((section(".data..percpu"))) long old_host_hits __asm__("per_cpu__host_hits");

void legacy_host_bump(void) { pcpu_this_inc(&old_host_hits); }
