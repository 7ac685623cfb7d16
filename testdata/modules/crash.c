/* For the debugger test: a module function that stops the program. */
#include <stdlib.h>

__attribute__((noinline)) int crash_in_module(void)
{
    abort();
}

int module_entry_for_gdb(void) { return crash_in_module() + 1; }
