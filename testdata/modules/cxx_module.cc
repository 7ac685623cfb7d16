// A C++ module: a static object with a constructor and a destructor, an
// exception thrown and caught inside the module, std::string from libstdc++.
#include <percpu/linux.h>

#include <stdexcept>
#include <string>

DEFINE_PER_CPU(long, cxx_mod_events) = 3;

extern "C" int host_cxx_destroyed; // exported by the host

namespace {
struct Registry {
    Registry() : name("registry"), constructed(1) {}
    ~Registry() { host_cxx_destroyed = 1; }
    std::string name;
    int constructed;
};
Registry registry;

int mayThrow(int x)
{
    if (x > 2)
        throw std::runtime_error("too big: " + std::to_string(x));
    return x;
}
} // namespace

extern "C" int cxx_constructed(void) { return registry.constructed && registry.name == "registry"; }

extern "C" int cxx_catch(int x)
{
    try {
        return mayThrow(x);
    } catch (const std::runtime_error &e) {
        return static_cast<int>(std::string(e.what()).size());
    }
}

extern "C" long cxx_bump(long n)
{
    for (long i = 0; i < n; ++i)
        this_cpu_inc(cxx_mod_events);
    long s = 0;
    int cpu;
    for_each_possible_cpu(cpu) s += per_cpu(cxx_mod_events, cpu);
    return s;
}
