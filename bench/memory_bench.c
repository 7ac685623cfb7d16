/*
 * Committed per-CPU memory after start-up and after 10,000 small allocations
 * (8..64 bytes), per unit, against the bytes requested.  One line per figure,
 * "name value", for bench/run.sh.  Run it in a fresh process.
 */
#include <percpu/percpu.h>

#include <stdio.h>

int main(void)
{
    struct pcpu_stats st;
    pcpu_get_stats(&st);
    printf("units %u\n", st.nr_units);
    printf("static_bytes %zu\n", st.static_bytes);
    printf("committed_after_startup %zu\n", st.committed_per_unit);
    size_t requested = 0;
    for (int i = 0; i < 10000; i++) {
        size_t size = 8 + (size_t)(i % 8) * 8;
        if (!pcpu_alloc(size, 8)) {
            perror("pcpu_alloc");
            return 1;
        }
        requested += size;
    }
    pcpu_get_stats(&st);
    printf("requested_bytes %zu\n", requested);
    printf("committed_after_10000 %zu\n", st.committed_per_unit);
    printf("slack_per_unit %zd\n", (ssize_t)st.committed_per_unit - (ssize_t)(requested + st.static_bytes));
    return 0;
}
