/* libb: linked by liba and by the program; uses liba's counter, which it
 * does not link (resolved when both are loaded). */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, b_count);
EXPORT_PER_CPU_SYMBOL(b_count);

DECLARE_PER_CPU(long, a_count);

/* A per-CPU pointer initialised with a variable of liba, which registers
 * after libb (liba needs libb, so libb's constructors run first), and which
 * the test program does not name (no copy relocation makes it canonical):
 * every copy must hold liba's block address, moved after libb's copies were
 * made. */
DECLARE_PER_CPU_SHARED_ALIGNED(long, a_aligned);
DEFINE_PER_CPU(long *, b_to_a) = &a_aligned;
long *b_to_a_value(int cpu) { return per_cpu(b_to_a, cpu); }

/* A page-aligned variable: libb's block is page-aligned in every unit. */
DEFINE_PER_CPU_PAGE_ALIGNED(char, b_page[16]);
char *b_page_address(void) { return b_page; }

void b_work(void)
{
    this_cpu_inc(b_count);
    this_cpu_inc(a_count);
}

long *b_count_address(void) { return &b_count; }
