/* Declared right, used wrong: `hits++` reads and writes the canonical
 * template instead of a CPU's copy. */
#include <percpu/linux.h>

DECLARE_PER_CPU(long, hits);

int direct(void) { return (int)hits++; }
