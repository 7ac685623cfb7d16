// A plugin module in C++: the same entry points as plugin.c (C linkage, so
// the hosts find them by name), made of three objects.
#include <percpu/linux.h>

#include <array>

DEFINE_PER_CPU(long, plugin_calls) = 1;
DECLARE_PER_CPU(long, host_ticks);

extern "C" int plugin_part_weight(void);  // plugin_part.c, an object library
extern "C" int plugin_glue_step(void);    // plugin_glue.c

namespace {
// A static object with a constructor: runs when the module loads.
struct Steps {
    std::array<int, 4> v{};
    Steps()
    {
        for (std::size_t i = 0; i < v.size(); i++)
            v[i] = plugin_glue_step();
    }
} steps;
} // namespace

extern "C" int plugin_tick(void)
{
    this_cpu_add(plugin_calls, static_cast<long>(plugin_part_weight()));
    this_cpu_inc(host_ticks);
    return steps.v[3] == 1 ? 0 : 1;
}
