/* A host built against the installed percpu::loader: loads plugin.o. */
#include <percpu/linux.h>
#include <percpu/loader.h>

#include <stdio.h>

DEFINE_PER_CPU(long, host_ticks);
EXPORT_PER_CPU_SYMBOL(host_ticks);

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    pcpu_module *m = pcpu_dlopen(argv[1], 0);
    if (!m) {
        fprintf(stderr, "%s\n", pcpu_dlerror());
        return 1;
    }
    int (*tick)(void) = (int (*)(void))pcpu_dlsym(m, "plugin_tick");
    long *calls = pcpu_dlsym(m, "plugin_calls");
    if (!tick || !calls)
        return 1;
    for (int i = 0; i < 100; i++)
        tick();
    long c = 0, h = 0;
    int cpu;
    for_each_possible_cpu(cpu) {
        c += *per_cpu_ptr(calls, cpu);
        h += per_cpu(host_ticks, cpu);
    }
    long expect = (long)nr_cpu_ids + 100;
    printf("plugin host: plugin_calls %ld (expected %ld), host_ticks %ld (expected 100)\n", c, expect, h);
    pcpu_dlclose(m);
    return c == expect && h == 100 ? 0 : 1;
}
