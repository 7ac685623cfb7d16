/* A small module for load/unload cycles and the benchmark: ten functions
 * and one per-CPU variable (touched by small_touch only, so that the same
 * code built as a shared object, where per-CPU data is not supported, can
 * be called by the dlopen benchmark). */
#include <percpu/linux.h>
DEFINE_PER_CPU(long, small_counter) = 1;
long small_touch(void) { return this_cpu_add_return(small_counter, 1); }
long small_f0(long x) { return x + 0; }
long small_f1(long x) { return small_f0(x) + 1; }
long small_f2(long x) { return small_f1(x) + 2; }
long small_f3(long x) { return small_f2(x) + 3; }
long small_f4(long x) { return small_f3(x) + 4; }
long small_f5(long x) { return small_f4(x) + 5; }
long small_f6(long x) { return small_f5(x) + 6; }
long small_f7(long x) { return small_f6(x) + 7; }
long small_f8(long x) { return small_f7(x) + 8; }
long small_f9(long x) { return small_f8(x) + 9; }
