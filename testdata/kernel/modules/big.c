/* Seeded bug: a per-CPU block larger than the 8 KiB module reserve. */
#include "kstyle.h"

KDEFINE_PER_CPU(char, big_buffer[9000]);
KMODINFO(license, "GPL");

char big_first(void) { return this_cpu_ptr(&big_buffer[0])[0]; }
