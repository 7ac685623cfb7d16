/* Correct per-CPU idioms, each a function: check must stay silent on them
 * over the whole flag matrix (tests/check_corpus.sh).  gcc -fPIC at -O1 and
 * above folds the GOT load of a variable into the arithmetic that adds the
 * unit offset; -fPIE computes its address with lea; -fno-pic adds the
 * offset to an absolute address. */
#include <percpu/linux.h>
#include <string.h>

struct pair {
    long a, b;
};
DEFINE_PER_CPU(long, scalar);
DEFINE_PER_CPU(int[16], arr);
DEFINE_PER_CPU(int[4][4], mat);
DEFINE_PER_CPU(struct pair, pr);
DEFINE_PER_CPU(long[128], big);
DEFINE_PER_CPU(long[128], big2);

void good_inc(int cpu) { per_cpu(scalar, cpu)++; }
int good_index(int cpu, int i) { return per_cpu(arr, cpu)[i]; }
int good_matrix(int cpu, int i, int j) { return per_cpu(mat, cpu)[i][j]; }
void good_store(int cpu, int i, int v) { per_cpu(arr, cpu)[i] = v; }
void good_member(void) { this_cpu_ptr(&pr)->b++; }
void good_clear(int cpu) { memset(per_cpu_ptr(&arr, cpu), 0, sizeof(arr)); }
void good_get_cpu_var(void)
{
    get_cpu_var(scalar)++;
    put_cpu_var(scalar);
}
void good_this_cpu(void) { this_cpu_inc(scalar); }
long good_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu) s += per_cpu(scalar, cpu);
    return s;
}
int good_compare(int cpu) { return per_cpu_ptr(&arr, cpu) == this_cpu_ptr(&arr); }
int *good_address(int cpu, int i) { return &per_cpu(arr, cpu)[i]; }
void good_clear_big(int cpu) { memset(per_cpu_ptr(&big, cpu), 0, sizeof(big)); }
void good_copy_big(int from, int to) { memcpy(per_cpu_ptr(&big2, to), per_cpu_ptr(&big, from), sizeof(big)); }
void good_this_cpu_clear(void) { memset(this_cpu_ptr(&big), 0, sizeof(big)); }
