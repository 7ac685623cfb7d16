// The same host in C++, with <percpu/loader.hpp>: the module is unloaded
// when `plugin` goes out of scope, errors come back as values.
#include <percpu/linux.h>
#include <percpu/loader.hpp>

#include <iostream>

DEFINE_PER_CPU(long, host_ticks);
EXPORT_PER_CPU_SYMBOL(host_ticks);

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    auto plugin = percpu::Module::open(argv[1]);
    if (!plugin) {
        std::cerr << plugin.error() << '\n';
        return 1;
    }
    auto tick = plugin->function<int()>("plugin_tick");
    auto calls = plugin->perCpu<long>("plugin_calls");
    if (!tick || !calls) {
        std::cerr << tick.error() << calls.error() << '\n';
        return 1;
    }
    for (int i = 0; i < 100; i++)
        (*tick)();
    percpu::ptr<long> ticks(&host_ticks);
    long expect = static_cast<long>(nr_cpu_ids) + 100;
    std::cout << "C++ plugin host: plugin_calls " << calls->sum() << " (expected " << expect
              << "), host_ticks " << ticks.sum() << " (expected 100)\n";
    return calls->sum() == expect && ticks.sum() == 100 ? 0 : 1;
}
