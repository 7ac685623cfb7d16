/* Seeded bugs: each bug_* function reads or writes a per-CPU variable at
 * its canonical address (the template, not a CPU's copy).  check must
 * report each at its function over the flag matrix (tests/check_corpus.sh
 * says which are required where). */
#include <percpu/linux.h>

struct pair {
    long a, b;
};
DEFINE_PER_CPU(long, scalar);
DEFINE_PER_CPU(int[16], arr);
DEFINE_PER_CPU(int[4][4], mat);
DEFINE_PER_CPU(struct pair, pr);

long bug_scalar(void) { return scalar; }
long bug_member(void) { return pr.b; }
int bug_constant_index(void) { return arr[3]; }
int bug_index(int i) { return arr[i]; }
void bug_store(int i, int v) { arr[i] = v; }
int bug_matrix(int i, int j) { return mat[i][j]; }
