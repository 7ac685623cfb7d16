/*
 * A host linked with percpu.ld in several ways (GNU ld and ld.lld, PIE and
 * non-PIE, --gc-sections): checks that every per-CPU section, in both
 * spellings, lands between __per_cpu_start and __per_cpu_end in canonical
 * order, and that the runtime copied the initial values into every unit.
 * Exit status = number of failures.
 */
#include <percpu/linux.h>

#include <stdint.h>
#include <stdio.h>

extern char __per_cpu_start[], __per_cpu_end[];

/* Current spelling, through the macros. */
DEFINE_PER_CPU_FIRST(int, n_first) = 1;
DEFINE_PER_CPU_PAGE_ALIGNED(int, n_page) = 2;
DEFINE_PER_CPU_READ_MOSTLY(int, n_mostly) = 3;
DEFINE_PER_CPU(int, n_plain) = 4;
DEFINE_PER_CPU_SHARED_ALIGNED(int, n_shared) = 5;

/* The 2006 spelling, as objects of that time emit it. */
#define OLD(sec) __attribute__((section(sec)))
OLD(".data.percpu.first") int per_cpu__o_first = 11;
OLD(".data.percpu.page_aligned") __attribute__((aligned(4096))) int per_cpu__o_page = 12;
OLD(".data.percpu.read_mostly") int per_cpu__o_mostly = 13;
OLD(".data.percpu") int per_cpu__o_plain = 14;
OLD(".data.percpu.shared_aligned") __attribute__((aligned(64))) int per_cpu__o_shared = 15;

/* An ordinary global that must stay out of the block. */
int ordinary = 99;

static int failures;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fragment: check failed: %s\n", #cond);            \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static uintptr_t A(const void *p) { return (uintptr_t)p; }

int main(void)
{
    const int *groups[5][2] = {
        {&n_first, &per_cpu__o_first},   {&n_page, &per_cpu__o_page},
        {&n_mostly, &per_cpu__o_mostly}, {&n_plain, &per_cpu__o_plain},
        {&n_shared, &per_cpu__o_shared},
    };
    const int values[5][2] = {{1, 11}, {2, 12}, {3, 13}, {4, 14}, {5, 15}};
    for (int g = 0; g < 5; g++)
        for (int k = 0; k < 2; k++) {
            CHECK(A(groups[g][k]) >= A(__per_cpu_start));
            CHECK(A(groups[g][k]) + sizeof(int) <= A(__per_cpu_end));
        }
    for (int g = 0; g + 1 < 5; g++)
        for (int k = 0; k < 2; k++)
            for (int m = 0; m < 2; m++)
                if (!(A(groups[g][k]) < A(groups[g + 1][m]))) {
                    fprintf(stderr, "fragment: group %d is not before group %d\n", g, g + 1);
                    failures++;
                }
    CHECK(A(&n_page) % 4096 == 0 && A(&per_cpu__o_page) % 4096 == 0);
    CHECK(A(&n_shared) % 64 == 0 && A(&per_cpu__o_shared) % 64 == 0);
    CHECK(A(&ordinary) < A(__per_cpu_start) || A(&ordinary) >= A(__per_cpu_end));

    int cpu;
    for_each_possible_cpu(cpu)
        for (int g = 0; g < 5; g++)
            for (int k = 0; k < 2; k++)
                if (*per_cpu_ptr(groups[g][k], cpu) != values[g][k]) {
                    fprintf(stderr, "fragment: cpu %d group %d: %d\n", cpu, g,
                            *per_cpu_ptr(groups[g][k], cpu));
                    failures++;
                }
    this_cpu_inc(n_plain);
    long total = 0;
    for_each_possible_cpu(cpu) total += per_cpu(n_plain, cpu);
    CHECK(total == 4L * (long)nr_cpu_ids + 1);
    if (!failures)
        printf("fragment ok: block %zu bytes\n", (size_t)(__per_cpu_end - __per_cpu_start));
    return failures;
}
