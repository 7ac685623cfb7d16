/*
 * Input of the differential test against ld.lld: code and data referring to
 * each other in every way compilers emit without external symbols: calls,
 * PC-relative loads and address computations, absolute pointers in data,
 * per-CPU address arithmetic, a jump table.
 */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, diff_counter) = 3;
DEFINE_PER_CPU_SHARED_ALIGNED(long[4], diff_table);
static long diff_local = 5;
long diff_global = 7;
const char diff_text[] = "differential";
long *diff_pointers[] = {&diff_global, &diff_local, (long *)diff_text};
long *diff_percpu_pointer = &diff_counter;

__attribute__((noinline)) long diff_leaf(long x) { return x + diff_local + diff_global; }

long diff_switch(int k)
{
    switch (k) {
    case 0: return diff_leaf(1);
    case 1: return diff_text[3];
    case 2: return *diff_pointers[1];
    case 3: return (long)&diff_counter;
    case 4: return (long)&diff_table[2];
    case 5: return diff_leaf(diff_global);
    case 6: return (long)diff_pointers;
    default: return -1;
    }
}

long diff_percpu_sum(void)
{
    long s = 0;
    for (unsigned c = 0; c < 4; c++)
        s += *(long *)((char *)&diff_counter + pcpu_unit_offset[c]) + diff_table[c & 3];
    return s;
}
