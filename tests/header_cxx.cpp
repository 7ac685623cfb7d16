// The C header test again, compiled as C++20 (style: every C header is
// compiled as C and as C++), then the C++ headers on top of the kernel
// spelling's macros (per_cpu, this_cpu_inc... must not clash with them).
#include "header_c.c"

#include <percpu/loader.hpp>
#include <percpu/percpu.hpp>
