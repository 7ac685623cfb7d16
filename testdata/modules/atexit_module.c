/*
 * atexit() and pthread_atfork() in a module. libc.so does not export them
 * (every executable and shared object gets its own copy from
 * libc_nonshared.a, bound to its __dso_handle); the loader provides them, so
 * that unloading the module runs its atexit handlers and forgets its fork
 * handlers.
 */
#include <percpu/module.h>
#include <pthread.h>
#include <stdlib.h>

extern int host_atexit_runs;  /* exported by the host */
extern int host_atfork_runs;  /* exported by the host */

static void on_exit_handler(void) { host_atexit_runs += 1; }
static void on_exit_later(void) { host_atexit_runs += 10; }
static void before_fork(void) { host_atfork_runs += 1; }

static int atexit_init(void)
{
    if (atexit(on_exit_handler) != 0)
        return 1;
    return pthread_atfork(before_fork, NULL, NULL) != 0;
}
module_init(atexit_init);

/* Registered after loading, from a call the host makes. */
int atexit_register_later(void) { return atexit(on_exit_later); }
