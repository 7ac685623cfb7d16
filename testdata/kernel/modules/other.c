/* Another clean module: exports a per-CPU variable that helper.c uses. */
#include "kstyle.h"

KDEFINE_PER_CPU(unsigned long, other_module_hits);
KEXPORT(other_module_hits);
KMODINFO(license, "GPL");
