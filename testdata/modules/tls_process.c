/* Thread-local variables of the process used by a module: libc's errno
 * (as a thread-local symbol, not through __errno_location) and one the
 * host program defines.  -fPIC reaches them by general dynamic (or TLS
 * descriptors), -fPIE by initial exec: both load, as the two live in
 * glibc's static TLS. */
#include <errno.h>

#undef errno
extern __thread int errno;
extern __thread int host_tls;

int tls_set_errno(int v)
{
    errno = v;
    return 0;
}
int tls_host_bump(void) { return ++host_tls; }
