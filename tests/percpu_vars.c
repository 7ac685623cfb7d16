/*
 * Per-CPU variables defined in C, of every flavour, for runtime_test.cc.
 * Kept in C on purpose: the test then also checks that C definitions and C++
 * uses agree on symbols and layout.
 */
#include <percpu/linux.h>

#include "percpu_vars.h"

int plain_global = 7;

DEFINE_PER_CPU(int, init42) = 42;
DEFINE_PER_CPU(long, zeroed);
DEFINE_PER_CPU(int *, points_to_global) = &plain_global;
DEFINE_PER_CPU(struct test_pair, pair) = {.a = 11, .b = -3};
DEFINE_PER_CPU(int[4], array4) = {1, 2, 3, 4};
DEFINE_PER_CPU_FIRST(uint64_t, first_var) = 0x1111;
DEFINE_PER_CPU_PAGE_ALIGNED(char[100], page_var) = "page";
DEFINE_PER_CPU_READ_MOSTLY(uint32_t, mostly_var) = 0x2222;
DEFINE_PER_CPU_SHARED_ALIGNED(uint64_t, shared_var) = 0x3333;
DEFINE_PER_CPU_ALIGNED(uint16_t, aligned_var) = 0x4444;
static DEFINE_PER_CPU(int, file_local) = 99;

DEFINE_PER_CPU(uint8_t, w8);
DEFINE_PER_CPU(uint16_t, w16);
DEFINE_PER_CPU(uint32_t, w32);
DEFINE_PER_CPU(uint64_t, w64);

int file_local_value(unsigned int cpu) { return per_cpu(file_local, cpu); }
int *file_local_address(void) { return &file_local; }

int exported_function(int x) { return x + 1; }
EXPORT_PER_CPU_SYMBOL(init42);
EXPORT_PER_CPU_SYMBOL_GPL(shared_var);
EXPORT_SYMBOL(exported_function);
EXPORT_SYMBOL_GPL(plain_global);
