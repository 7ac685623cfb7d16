/* Seeded bug: a plain extern of another module's per-CPU variable
 * (other.c's other_module_hits), read as ordinary data. */
#include "kstyle.h"

extern unsigned long other_module_hits;
KMODINFO(license, "GPL");

unsigned long bug_extern_read(void) { return *(volatile unsigned long *)&other_module_hits; }
