/* The thread-local read the TLS benchmark times (bench/tls/tls_bench.c):
 * compiled -fPIC as a module and as a shared object, once with the
 * general-dynamic calls (-mtls-dialect=gnu) and once with TLS descriptors
 * (-mtls-dialect=gnu2).  tls_get is static and not inlined: each call
 * computes the variable's address anew, as code reading it once per call
 * does. */
__thread long tls_value = 1;

static __attribute__((noinline)) long tls_get(void) { return tls_value; }

long tls_sum(long n)
{
    long s = 0;
    for (long i = 0; i < n; ++i) {
        s += tls_get();
        __asm__ volatile("" : "+r"(s) : : "memory"); /* one read per iteration */
    }
    return s;
}
