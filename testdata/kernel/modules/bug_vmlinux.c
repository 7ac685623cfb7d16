/* Seeded bug: vmlinux's per-CPU __preempt_count read with no segment
 * register (seen only with --kernel-symbols). */
#include "kstyle.h"

extern int __preempt_count;
KMODINFO(license, "GPL");

int bug_preempt(void) { return *(volatile int *)&__preempt_count; }
