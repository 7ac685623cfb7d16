/*
 * LeakSanitizer and per-CPU memory (the ASan preset runs it).  Heap
 * pointers kept only in per-CPU memory are not leaks: in a static per-CPU
 * variable on two CPUs, in an alloc_percpu object, and in one allocated
 * past the first chunk (ctest runs it with a 64 KiB stride too), and in a
 * shared library's per-CPU variable (testdata/shared/lsan_lib.c).  With
 * "lose", one pointer is also truly lost, and LeakSanitizer must report
 * exactly that one (33 bytes).
 */
#include <percpu/linux.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DEFINE_PER_CPU(void *, lsan_stash);
DEFINE_PER_CPU(void *, lsan_stash_last);

static void *volatile sink;
void lib_stash_malloc(size_t n);

int main(int argc, char **argv)
{
    this_cpu_write(lsan_stash, malloc(100));
    per_cpu(lsan_stash_last, nr_cpu_ids - 1) = malloc(101);

    void **dyn = alloc_percpu(void *);
    if (!dyn)
        return 1;
    *per_cpu_ptr(dyn, 0) = malloc(102);

    /* Reach a later chunk: objects until the chunk count grows. */
    struct pcpu_stats st;
    pcpu_get_stats(&st);
    unsigned chunks = st.nr_chunks;
    void **far = NULL;
    for (int i = 0; i < 100000 && st.nr_chunks == chunks; i++) {
        far = __alloc_percpu(4096, 8);
        if (!far)
            return 1;
        pcpu_get_stats(&st);
    }
    *per_cpu_ptr(far, nr_cpu_ids - 1) = malloc(103);
    lib_stash_malloc(104);

    if (argc > 1 && !strcmp(argv[1], "lose")) {
        sink = malloc(33);
        sink = NULL;
    }
    printf("stashed 100, 101, 102, 103 and 104 bytes in per-CPU memory (%u chunks)\n", st.nr_chunks);
    return 0;
}
