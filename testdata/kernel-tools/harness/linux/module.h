/* Stand-in, written for percpu's tests, of a harness's module.h: module
 * entry points and exports as no-ops. */
#ifndef __HARNESS_LINUX_MODULE_H
#define __HARNESS_LINUX_MODULE_H
#include <linux/export.h>
#define module_init(x)
#define module_exit(x)
#define EXPORT_PER_CPU_SYMBOL(var)
#define EXPORT_PER_CPU_SYMBOL_GPL(var)
#endif
