/* The kernel-API conformance checks (testdata/kernel/kapi.c) as a loaded
 * module: the same code, its per-CPU block placed by the loader. */
#include "../kernel/kapi.c"
