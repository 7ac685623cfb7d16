/* Stand-in, written for percpu's tests, of the shape of the kernel's
 * tools/include/linux/export.h: unconditional, empty export macros. */
#ifndef _TOOLS_LINUX_EXPORT_H_
#define _TOOLS_LINUX_EXPORT_H_
#define VMLINUX_SYMBOL(x) x
#define VMLINUX_SYMBOL_STR(x) #x
#define EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym)
#define EXPORT_SYMBOL_GPL_FUTURE(sym)
#define EXPORT_UNUSED_SYMBOL(sym)
#define EXPORT_UNUSED_SYMBOL_GPL(sym)
#endif
