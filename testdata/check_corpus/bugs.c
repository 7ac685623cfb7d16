/* Seeded bugs: each bug_* function reads or writes a per-CPU variable at
 * its canonical address (the template, not a CPU's copy).  check must
 * report each at its function over the flag matrix (tests/check_corpus.sh
 * says which are required where). */
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

long bug_scalar(void) { return scalar; }
long bug_member(void) { return pr.b; }
int bug_constant_index(void) { return arr[3]; }
int bug_index(int i) { return arr[i]; }
void bug_store(int i, int v) { arr[i] = v; }
int bug_matrix(int i, int j) { return mat[i][j]; }
/* gcc inlines these as rep stos / rep movs through %rdi and %rsi. */
void bug_memset(void) { memset(&big, 0, sizeof big); }
void bug_memcpy(void) { memcpy(&big2, &big, sizeof big); }
/* The address through a stack slot: a volatile pointer is stored and
 * reloaded at every -O level (what -O0 does with any local). */
void bug_spill(int v)
{
    int *volatile p = &arr[1];
    *p = v;
}
