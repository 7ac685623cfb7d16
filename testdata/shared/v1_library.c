/* A plugin whose start-up record is version 1, as the start-up object
 * (library.cc) wrote it before the bounded unit table: no entry count, and a
 * table of every possible CPU.  The runtime still registers such an object
 * (an object built against an earlier libpercpu.so.0) and fills its table.
 * Linked with percpu-shared.ld and libpercpu.so.0, without
 * libpercpu-library.a: this file is its start-up object.  Its code reaches
 * v1_counter through its GOT only (a global, compiled -fPIC, without
 * PERCPU_SHARED_OBJECT), so it needs no patched slots. */
#include <percpu/linux.h>

#include <stdlib.h>

extern char __per_cpu_start[] __attribute__((visibility("hidden")));
extern char __per_cpu_end[] __attribute__((visibility("hidden")));
extern char __per_cpu_page_end[] __attribute__((visibility("hidden")));
extern char __ehdr_start[] __attribute__((weak, visibility("hidden")));
extern char _end[] __attribute__((weak, visibility("hidden")));

/* struct pcpu__image as of version 1 (<percpu/percpu.h> has the current
 * one, which only adds fields at the end). */
struct v1_image {
    uint32_t version, align;
    char *start, *end, *page_end, *canon_start, *canon_end, *image_start, *image_end;
    const struct pcpu_export *exports_start, *exports_stop;
    void *block;
    uintptr_t *unit_offset, *unit_base;
    unsigned long *unit_shift;
    unsigned int *nr_units;
    long *rseq_offset, *cid_rseq_offset;
};

static uintptr_t v1_table[PCPU_MAX_CPUS];
static uintptr_t v1_base;
static unsigned long v1_shift;
static unsigned int v1_units;
static long v1_rseq, v1_cid_rseq;
static struct v1_image v1_record = {1, 0, __per_cpu_start, __per_cpu_end, __per_cpu_page_end, NULL, NULL,
                                    __ehdr_start, _end, NULL, NULL, NULL, v1_table, &v1_base, &v1_shift,
                                    &v1_units, &v1_rseq, &v1_cid_rseq};

__attribute__((constructor(101))) static void v1_start(void)
{
    if (pcpu__register_shared((struct pcpu__image *)&v1_record) != 0)
        abort();
}

__attribute__((destructor(101))) static void v1_stop(void)
{
    pcpu__unregister_shared((struct pcpu__image *)&v1_record);
}

DEFINE_PER_CPU(long, v1_counter) = 5;

void v1_inc(void) { this_cpu_inc(v1_counter); }

long v1_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu) s += per_cpu(v1_counter, cpu);
    return s;
}

/* What the runtime wrote into the object's table and unit count. */
uintptr_t v1_table_entry(unsigned int cpu) { return v1_table[cpu]; }
unsigned int v1_nr_units(void) { return v1_units; }
