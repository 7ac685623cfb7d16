// rseq_sim_library.cc: the fast paths as a shared object's code compiles them.
#pragma once

#include <cstdint>

namespace rseqsim::library {

uintptr_t *table(); // the object's bounded unit table
int add64(void *canon, uint64_t v);
int cmpxchg32(void *canon, uint32_t expected, uint32_t desired, uint32_t *old);
int counterAdd(void *canon, int64_t v, int64_t lo, uint64_t span);
int refAdd(const unsigned long *word, unsigned long v);
uintptr_t thisUnit(); // pcpu_this_ptr()'s unit offset

} // namespace rseqsim::library
