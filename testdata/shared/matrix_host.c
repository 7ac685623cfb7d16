/* The program of the shared-object link matrix (tests/shared_matrix.sh):
 * liba and libb linked, the plugin opened with dlopen(); every counter sums
 * exactly from several threads.  Prints "matrix ok" or what differed.
 *   matrix_host PLUGIN.so */
#include <percpu/linux.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

DEFINE_PER_CPU(long, h_count);
EXPORT_PER_CPU_SYMBOL(h_count);
DECLARE_PER_CPU(long, a_count);
DECLARE_PER_CPU(long, b_count);
void a_work(void);
void b_work(void);
long a_private_sum(void);
long *a_count_address(void);

static void (*p_work)(void);
int plugin_exits; /* counted by the plugin's module_exit */

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5000; i++) {
        a_work();
        b_work();
        p_work();
    }
    return NULL;
}

static long sum(long *p)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += *per_cpu_ptr(p, cpu);
    return s;
}

int main(int argc, char **argv)
{
    void *h = argc > 1 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;
    p_work = h ? (void (*)(void))dlsym(h, "p_work") : NULL;
    long *(*p_a)(void) = h ? (long *(*)(void))dlsym(h, "p_a_count_address") : NULL;
    if (!p_work || !p_a) {
        fprintf(stderr, "matrix_host: %s\n", dlerror());
        return 1;
    }
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    long *p_count = pcpu_canonical(dlsym(h, "p_count"));
    const long n = 3 * 5000;
    long a = sum(&a_count), b = sum(&b_count), hc = sum(&h_count), p = sum(p_count);
    long priv = a_private_sum() - 3L * pcpu_nr_cpus();
    int same = a_count_address() == &a_count && p_a() == &a_count;
    if (a != 3 * n || b != 2 * n || hc != n || p != n || priv != n || !same) {
        printf("matrix: a_count %ld (want %ld) b_count %ld (want %ld) h_count %ld (want %ld) "
               "p_count %ld (want %ld) a_private %ld (want %ld) one address %d\n",
               a, 3 * n, b, 2 * n, hc, n, p, n, priv, n, same);
        return 1;
    }
    int (*inited)(void) = (int (*)(void))dlsym(h, "p_was_initialised");
    int init_ran = inited ? inited() : -1;
    dlclose(h);
    if (init_ran != 1 || plugin_exits != 1) {
        printf("matrix: module_init ran %d, module_exit ran %d times\n", init_ran, plugin_exits);
        return 1;
    }
    printf("matrix ok\n");
    return 0;
}
