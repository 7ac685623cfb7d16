/* A clean kernel-style module: per-CPU data used the kernel's way. */
#include "kstyle.h"

KDEFINE_PER_CPU(unsigned long, kmod_hits);
KEXPORT(kmod_hits);
static KDEFINE_PER_CPU(unsigned long, kmod_local);
static KDEFINE_PER_CPU(unsigned long, kmod_hist[8]) __attribute__((aligned(64)));
KDECLARE_PER_CPU(int, __preempt_count); /* vmlinux's */

KMODINFO(license, "GPL");
KMODINFO(description, "kernel-style per-CPU fixture");

unsigned long kmod_tick(unsigned int bucket)
{
    this_cpu_inc_8(kmod_hits);
    this_cpu_add_8(kmod_local, 2);
    unsigned long *h = this_cpu_ptr(&kmod_hist[0]);
    h[bucket & 7]++;
#if defined(__x86_64__)
    int pc;
    __asm__ __volatile__("movl %%gs:%1, %0" : "=r"(pc) : "m"(__preempt_count));
    return this_cpu_read_8(kmod_local) + (unsigned long)pc;
#else
    return this_cpu_read_8(kmod_local) + (unsigned long)*this_cpu_ptr(&__preempt_count);
#endif
}
KEXPORT(kmod_tick);
