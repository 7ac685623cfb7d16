/*
 * Every public C header, compiled as strict C11 (-std=c11 -pedantic-errors)
 * and, through header_cxx.cpp, as C++20: each macro of <percpu/linux.h> is
 * used once and its result checked.  Exit status = number of failures.
 */
#include <percpu/linux.h>
#include <percpu/loader.h>
#include <percpu/module.h>
#include <percpu/percpu.h>

#include <stdio.h>
#include <string.h>

struct hdr_s {
    int x;
    long y;
};

DEFINE_PER_CPU(int, hdr_plain) = 3;
DEFINE_PER_CPU_FIRST(long, hdr_first);
DEFINE_PER_CPU_SHARED_ALIGNED(struct hdr_s, hdr_shared);
DEFINE_PER_CPU_ALIGNED(short, hdr_aligned);
DEFINE_PER_CPU_PAGE_ALIGNED(char, hdr_page);
DEFINE_PER_CPU_READ_MOSTLY(unsigned char, hdr_mostly);
static DEFINE_PER_CPU(unsigned long long, hdr_static);
DECLARE_PER_CPU(int, hdr_plain);
EXPORT_PER_CPU_SYMBOL(hdr_plain);
EXPORT_PER_CPU_SYMBOL_GPL(hdr_first);

static int failures;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

int main(void)
{
    int cpu;
    long sum = 0;
    for_each_possible_cpu(cpu) sum += per_cpu(hdr_plain, cpu);
    CHECK(sum == 3L * (long)nr_cpu_ids);
    CHECK(num_possible_cpus() == nr_cpu_ids);
    CHECK(per_cpu_offset(0) == __per_cpu_offset[0]);

    this_cpu_inc(hdr_plain);
    this_cpu_dec(hdr_plain);
    this_cpu_add(hdr_first, 5);
    this_cpu_sub(hdr_first, 2);
    CHECK(this_cpu_add_return(hdr_static, 4) >= 4);
    (void)this_cpu_sub_return(hdr_static, 4);
    CHECK(pcpu_sum(&hdr_static) == 0);
    (void)this_cpu_inc_return(hdr_mostly);
    (void)this_cpu_dec_return(hdr_mostly);
    this_cpu_write(hdr_aligned, 9);
    (void)this_cpu_read(hdr_aligned);
    (void)this_cpu_xchg(hdr_page, 'x');
    (void)this_cpu_cmpxchg(hdr_page, 'x', 'y');
    this_cpu_add(hdr_shared.y, 1);
    raw_cpu_inc(hdr_plain);
    raw_cpu_dec(hdr_plain);
    __this_cpu_add(hdr_plain, 1);
    __this_cpu_sub(hdr_plain, 1);
    CHECK(pcpu_sum(&hdr_plain) == 3L * (long)nr_cpu_ids);
    CHECK(pcpu_sum(&hdr_first) == 3);

    int cpus_online = 0;
    for_each_online_cpu(cpu) cpus_online += cpu_online(cpu);
    CHECK(cpus_online >= 1);
    CHECK(smp_processor_id() < (int)nr_cpu_ids);
    CHECK(raw_smp_processor_id() < (int)nr_cpu_ids);

    struct hdr_s *mine = get_cpu_ptr(&hdr_shared);
    mine->x = 1;
    put_cpu_ptr(&hdr_shared);
    get_cpu_var(hdr_shared).x += 1;
    put_cpu_var(hdr_shared);
    int c = get_cpu();
    put_cpu();
    CHECK(c >= 0);
    CHECK(this_cpu_ptr(&hdr_shared) != NULL);
    CHECK(raw_cpu_ptr(&hdr_shared) != NULL);

    struct hdr_s *d = alloc_percpu(struct hdr_s);
    CHECK(d != NULL);
    CHECK(per_cpu_ptr(d, 0)->y == 0);
    void *raw = __alloc_percpu(100, 64);
    CHECK(raw != NULL && ((unsigned long)raw & 63) == 0);
    free_percpu(d);
    free_percpu(raw);

    const struct pcpu_export *e = pcpu_host_export("hdr_plain");
    CHECK(e != NULL && e->kind == PCPU_EXPORT_PER_CPU);
    CHECK(pcpu_host_export("hdr_first") != NULL);
    struct pcpu_stats st;
    CHECK(pcpu_get_stats(&st) == 0 && st.nr_units == nr_cpu_ids);
    CHECK(strlen(pcpu_cpu_source_name(pcpu_cpu_source())) > 0);
    return failures;
}
