/* A plugin loaded with dlopen(): defines and exports its own counter (which
 * a .o module loaded with pcpu_dlopen() uses), and uses liba's and the
 * program's.  Its module_init and module_exit run at dlopen and dlclose
 * (module_exit tells the program, through plugin_exits). */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, p_count);
EXPORT_PER_CPU_SYMBOL(p_count);
static DEFINE_PER_CPU(long, p_calls);

DECLARE_PER_CPU(long, a_count);
DECLARE_PER_CPU(long, h_count);

void p_work(void)
{
    this_cpu_inc(p_count);
    this_cpu_inc(a_count);
    this_cpu_inc(h_count);
    this_cpu_inc(p_calls);
}

long p_calls_sum(void)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += per_cpu(p_calls, cpu);
    return s;
}

long *p_a_count_address(void) { return &a_count; }

extern int plugin_exits; /* the program's */
static int p_initialised;
static int p_init(void)
{
    p_initialised = this_cpu_read(p_calls) == 0; /* the block exists, and is zero */
    return 0;
}
static void p_exit(void) { plugin_exits++; }
module_init(p_init);
module_exit(p_exit);
int p_was_initialised(void) { return p_initialised; }
long *p_h_count_address(void) { return &h_count; }
