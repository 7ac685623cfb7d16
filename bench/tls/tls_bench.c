/* A module's thread-local read against the same read in a dlopen()ed shared
 * object: general dynamic (__tls_get_addr) and TLS descriptors, the same
 * source and flags (bench/tls/tls_read.c).  Rounds alternate between the
 * four so that the machine's noise falls on all of them; the best round of
 * each is kept.  Prints ns per read and the ratios with their targets.
 * Usage: percpu-tls-bench DIR (holding tls_gd.o, tls_desc.o, libtls_gd.so,
 * libtls_desc.so). */
#include <percpu/loader.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef long (*Sum)(long);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static Sum fromModule(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    pcpu_module *m = pcpu_dlopen(path, 0);
    if (!m) {
        fprintf(stderr, "%s\n", pcpu_dlerror());
        exit(1);
    }
    return (Sum)pcpu_dlsym(m, "tls_sum");
}

static Sum fromShared(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        exit(1);
    }
    return (Sum)dlsym(h, "tls_sum");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    struct {
        const char *name;
        Sum sum;
        double best;
    } k[] = {
        {"shared object, general dynamic", fromShared(argv[1], "libtls_gd.so"), 1e9},
        {"module, general dynamic", fromModule(argv[1], "tls_gd.o"), 1e9},
        {"shared object, TLS descriptors", fromShared(argv[1], "libtls_desc.so"), 1e9},
        {"module, TLS descriptors", fromModule(argv[1], "tls_desc.o"), 1e9},
    };
    const long n = 20 * 1000 * 1000;
    for (int i = 0; i < 4; ++i)
        if (k[i].sum(1000) != 1000) { /* the initial value, 1 per read: first use made the block */
            fprintf(stderr, "%s: wrong sum\n", k[i].name);
            return 1;
        }
    for (int round = 0; round < 7; ++round)
        for (int i = 0; i < 4; ++i) {
            double t = now();
            long s = k[i].sum(n);
            t = (now() - t) / n * 1e9;
            if (s != n)
                return 1;
            if (t < k[i].best)
                k[i].best = t;
        }
    printf("thread-local read (ns per call and read, best of 7 rounds)\n");
    for (int i = 0; i < 4; ++i)
        printf("  %-36s %6.2f\n", k[i].name, k[i].best);
    printf("  module / shared object, general dynamic  %5.2fx  (target <= 1.5x)\n", k[1].best / k[0].best);
    printf("  module / shared object, TLS descriptors  %5.2fx  (target <= 1.2x)\n", k[3].best / k[2].best);
    return 0;
}
