// C++ module-like object: per-CPU data next to templates, inline functions,
// static initialisation and exceptions, for the patch round-trip.
#include <percpu/linux.h>
#include <percpu/percpu.hpp>

#include <stdexcept>
#include <string>

DEFINE_PER_CPU(unsigned long, cxx_events) = 1;
static DEFINE_PER_CPU(int, cxx_hidden) = 2;

namespace {
template <typename T> T sumOf(T *p) { return percpu::ptr<T>(p).sum(); }
} // namespace

extern "C" long rt_total(void) // the host's entry point
{
    try {
        if (sumOf(&cxx_events) == 0)
            throw std::runtime_error("no events");
    } catch (const std::exception &) {
        return -1;
    }
    return static_cast<long>(sumOf(&cxx_events)) + sumOf(&cxx_hidden) * 10;
}

extern "C" void rt_bump(int n)
{
    for (int i = 0; i < n; i++) {
        this_cpu_inc(cxx_events);
        this_cpu_add(cxx_hidden, 1);
    }
}

DECLARE_PER_CPU(long, rt_counter);
DEFINE_PER_CPU(long, rt_counter) = 100;
extern "C" long *rt_counter_address(void) { return &rt_counter; }
