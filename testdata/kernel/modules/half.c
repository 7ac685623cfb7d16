/* Within the reserve alone; built twice (HALF_NAME), the two copies
 * together exceed it: the 2006 thread's failure. */
#include "kstyle.h"

#define KS_CAT2(a, b) a##b
#define KS_CAT(a, b) KS_CAT2(a, b)
KDEFINE_PER_CPU(char, KS_CAT(HALF_NAME, _buffer)[5000]);
KMODINFO(license, "GPL");

char KS_CAT(HALF_NAME, _first)(void) { return this_cpu_ptr(&KS_CAT(HALF_NAME, _buffer)[0])[0]; }
