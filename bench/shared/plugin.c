/* The plugin of the dlopen+dlclose benchmark: the same code with a per-CPU
 * block (percpu_add_library) and, with -DPLAIN, with an ordinary variable
 * (a plain shared object). */
#ifdef PLAIN
static long plugin_counters[16];
long plugin_touch(void) { return ++plugin_counters[0]; }
#else
#include <percpu/linux.h>
static DEFINE_PER_CPU(long, plugin_counters[16]);
long plugin_touch(void) { return this_cpu_inc_return(plugin_counters[0]); }
#endif
