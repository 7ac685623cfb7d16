/* A shared library that keeps a heap pointer only in its per-CPU data
 * (tests/lsan_roots.c): LeakSanitizer must not report it. */
#include <percpu/linux.h>
#include <stdlib.h>

DEFINE_PER_CPU(void *, lib_stash);

void lib_stash_malloc(size_t n) { this_cpu_write(lib_stash, malloc(n)); }
