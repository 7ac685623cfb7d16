/* Declarations of the variables in percpu_vars.c. */
#ifndef PERCPU_TESTS_PERCPU_VARS_H
#define PERCPU_TESTS_PERCPU_VARS_H

#include <percpu/linux.h>

#ifdef __cplusplus
extern "C" {
#endif

struct test_pair {
    int a;
    int b;
};

extern int plain_global;

DECLARE_PER_CPU(int, init42);
DECLARE_PER_CPU(long, zeroed);
DECLARE_PER_CPU(int *, points_to_global);
DECLARE_PER_CPU(struct test_pair, pair);
DECLARE_PER_CPU(int[4], array4);
DECLARE_PER_CPU_FIRST(uint64_t, first_var);
DECLARE_PER_CPU_PAGE_ALIGNED(char[100], page_var);
DECLARE_PER_CPU_READ_MOSTLY(uint32_t, mostly_var);
DECLARE_PER_CPU_SHARED_ALIGNED(uint64_t, shared_var);
DECLARE_PER_CPU_ALIGNED(uint16_t, aligned_var);

DECLARE_PER_CPU(uint8_t, w8);
DECLARE_PER_CPU(uint16_t, w16);
DECLARE_PER_CPU(uint32_t, w32);
DECLARE_PER_CPU(uint64_t, w64);

int file_local_value(unsigned int cpu);
int *file_local_address(void);
int exported_function(int x);

#ifdef __cplusplus
}
#endif

#endif
