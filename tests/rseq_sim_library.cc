// rseq_sim_test's shared-object half: the same fast paths compiled as code of
// a shared object built with percpu_add_library() (PERCPU_SHARED_OBJECT), which
// read the object's bounded unit table (PCPU_LIBRARY_UNIT_ENTRIES).  This
// translation unit stands in for the object's start-up object too: it
// defines the table, which the test fills.
#ifndef PERCPU_SHARED_OBJECT
#error "compiled with PERCPU_SHARED_OBJECT (tests/CMakeLists.txt)"
#endif
#include <percpu/percpu.h>

#include "rseq_sim_library.h"

uintptr_t pcpu__library_unit_offset[PCPU_LIBRARY_UNIT_ENTRIES];

namespace rseqsim::library {

uintptr_t *table() { return pcpu__library_unit_offset; }
int add64(void *canon, uint64_t v) { return pcpu_arch_add_64(canon, v); }
int cmpxchg32(void *canon, uint32_t expected, uint32_t desired, uint32_t *old)
{
    return pcpu_arch_cmpxchg_32(canon, expected, desired, old);
}
int counterAdd(void *canon, int64_t v, int64_t lo, uint64_t span) { return pcpu_arch_counter_add(canon, v, lo, span); }
int refAdd(const unsigned long *word, unsigned long v) { return pcpu_arch_ref_add(word, v); }
uintptr_t thisUnit() { return pcpu__this_unit(); }

} // namespace rseqsim::library
