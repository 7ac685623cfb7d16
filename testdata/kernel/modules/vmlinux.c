/* A stand-in vmlinux for --kernel-symbols: a linked program whose per-CPU
 * section holds the variables kernel modules reference. */
#include "kstyle.h"

KDEFINE_PER_CPU(int, __preempt_count);
KDEFINE_PER_CPU(unsigned long, this_cpu_off);
unsigned long jiffies;

void _start(void) {}
