/* A program that links a shared library with per-CPU data and dlopen()s a
 * plugin with its own: every counter sums exactly.
 *   libapp PLUGIN.so */
#include <percpu/linux.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

DEFINE_PER_CPU(long, app_events);
EXPORT_PER_CPU_SYMBOL(app_events);
DECLARE_PER_CPU(long, lib_events);
void lib_event(void);
long lib_calls_sum(void);

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        lib_event();
        this_cpu_inc(app_events);
    }
    return NULL;
}

static long sum(long *canonical)
{
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        s += *per_cpu_ptr(canonical, cpu);
    return s;
}

int main(int argc, char **argv)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    long plugin = 0;
    if (argc > 1) {
        void *h = dlopen(argv[1], RTLD_NOW);
        long (*run)(int) = h ? (long (*)(int))dlsym(h, "plugin_run") : NULL;
        if (!run) {
            fprintf(stderr, "libapp: %s\n", dlerror());
            return 1;
        }
        plugin = run(500);
        dlclose(h);
    }
    long lib = sum(&lib_events), app = sum(&app_events);
    long calls = lib_calls_sum() - (long)pcpu_nr_cpus();
    long want = argc > 1 ? 500 : 0;
    printf("libapp: lib_events %ld (expected %ld), app_events %ld (expected %ld), "
           "lib_calls %ld (expected 40000), plugin_events %ld (expected %ld)\n",
           lib, 40000 + want, app, 40000 + want, calls, plugin, want);
    return lib == 40000 + want && app == 40000 + want && calls == 40000 && plugin == want ? 0 : 1;
}
