/* Thread-local data in a module: .tdata and .tbss, an over-aligned
 * variable, a pointer initialised by a relocation in .tdata.  Compiled
 * -fPIC it loads (general or local dynamic, or TLS descriptors with
 * -mtls-dialect=gnu2 and on AArch64); -fPIE/-fno-pic give local exec, which
 * the loader refuses with the remedy. */
#include <stdint.h>

int tls_target = 7;
__thread int tls_counter;            /* .tbss */
__thread long tls_init = 41;         /* .tdata */
__thread int *tls_ptr = &tls_target; /* relocated in .tdata */
__thread char tls_aligned[64] __attribute__((aligned(64)));
static __thread int tls_local_a, tls_local_b = 5; /* local dynamic at -O2 */

int tls_bump(void) { return ++tls_counter; }
long tls_next(void) { return ++tls_init; }
int tls_deref(void) { return *tls_ptr; }
int tls_aligned_ok(void)
{
    uintptr_t a = (uintptr_t)tls_aligned;
    __asm__("" : "+r"(a)); /* the compiler may not assume the alignment it asked for */
    return a % 64 == 0;
}
void *tls_counter_addr(void) { return &tls_counter; }
int tls_locals(void)
{
    tls_local_a += 1;
    tls_local_b += 2;
    return tls_local_a * 100 + tls_local_b;
}
