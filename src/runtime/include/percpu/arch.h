/*
 * <percpu/arch.h> — selects the architecture's this_cpu fast paths.
 * Included by <percpu/percpu.h>; do not include it directly.
 *
 * Every architecture implements the same specification, for N in 8, 16, 32
 * and 64 (uintN_t operands), as static inline functions:
 *
 *   int pcpu_arch_current_cpu(void)
 *       The CPU number from the thread's rseq area, or -1 when the fast paths
 *       are unusable on this thread now (pcpu__thread_rseq_offset is 0: not
 *       prepared yet, no rseq, or the thread holds a CPU; or the area
 *       reports "uninitialised"/"registration failed").
 *
 *   int pcpu_arch_add_N(void *canon, uintN_t v)
 *   int pcpu_arch_add_return_N(void *canon, uintN_t v, uintN_t *result)
 *   int pcpu_arch_xchg_N(void *canon, uintN_t v, uintN_t *old)
 *   int pcpu_arch_cmpxchg_N(void *canon, uintN_t expected, uintN_t desired,
 *                           uintN_t *old)
 *   int pcpu_arch_write_N(void *canon, uintN_t v)
 *   int pcpu_arch_and_N(void *canon, uintN_t v)
 *   int pcpu_arch_or_N(void *canon, uintN_t v)
 *   int pcpu_arch_counter_add(void *canon, int64_t v, int64_t lo, uint64_t span)
 *       add v to this CPU's int32_t copy unless the sum s (in 64 bits)
 *       leaves [lo, lo + span) ((uint64_t)(s - lo) >= span: nothing
 *       stored, returns 1); percpu_counter's fast path, one critical
 *       section
 *   int pcpu_arch_ref_add(const unsigned long *word, unsigned long v)
 *       add v to this CPU's copy at canonical address *word unless one of
 *       its two low bits is set, the word read inside the critical section
 *       (percpu_ref's fast path; membarrier-RSEQ safe)
 *   int pcpu_arch_cmpxchg_on_N(void *canon, uintptr_t unit, uintN_t expected,
 *                              uintN_t desired, uintN_t *old)
 *       cmpxchg on the copy at canon + unit, committed only while the
 *       thread runs on the CPU whose unit offset is `unit` (the section
 *       compares them; otherwise it returns 1, nothing done).  It reads
 *       pcpu__rseq_offset, the process's offset: the held-CPU slow path of
 *       a thread whose own offset is 0.
 *   int pcpu_arch_cmpxchg_128(void *canon, pcpu_u128 expected,
 *                             pcpu_u128 desired, pcpu_u128 *old)
 *
 *       In one rseq critical section:
 *           cpu  = rseq->cpu_id            (negative: return 1, nothing done;
 *                                           in a shared object's code, also a
 *                                           CPU past its bounded table,
 *                                           PCPU_LIBRARY_UNIT_ENTRIES)
 *           copy = canon + pcpu_unit_offset[cpu]   (that table's entry there)
 *           read-modify-write *copy, the final store being the commit
 *       Preemption, migration or a signal before the commit makes the kernel
 *       jump to the abort handler, which restarts from the top.
 *       RETURNS 0 when the operation was done (outputs written), 1 when the
 *       caller must take the slow path (pcpu__this_cpu_slow()).
 *       cmpxchg stores only when *copy == expected; *old is the value seen.
 *
 *   pcpu_u128 pcpu_arch_atomic_cmpxchg_128(void *p, pcpu_u128 expected,
 *                                          pcpu_u128 desired)
 *       A 16-byte compare-and-exchange atomic against every CPU (the slow
 *       path's fallback when rseq is not in use); returns the value seen.
 *
 *   intptr_t pcpu_arch_thread_pointer(void)
 *       The thread pointer that rseq offsets are relative to.
 *
 *   PCPU_ARCH_POOL_FAST (macro, 0 or 1)
 *       1 when the architecture has the pools' rseq sequences (<percpu/pool.h>),
 *       for N in 8, 16, 32 and 64 and unit in cpu (rseq->cpu_id) and cid
 *       (rseq->mm_cid, at PCPU_RSEQ_MM_CID_OFFSET):
 *           int pcpu_arch_pool_<unit>_<op>_N(uintptr_t base, unsigned long shift, ...)
 *       for op in add, write, add_return, xchg and cmpxchg, with the copy at
 *       base + (unit << shift) and the arguments and return value of the
 *       operations above.  0: every pool operation takes the atomic fallback.
 *
 *   PCPU_ARCH_NAME, PCPU_RSEQ_SIG
 *       The architecture's name and the rseq signature it registers.
 *
 * The critical-section descriptors go to section __rseq_cs, abort handlers
 * to __rseq_failure, as librseq does.
 */
#ifndef PERCPU_ARCH_H
#define PERCPU_ARCH_H

/* struct rseq layout (linux/rseq.h, stable ABI): what the fast paths read.
 * The sequences' assembly spells these through PCPU__XSTR. */
#define PCPU_RSEQ_CPU_ID_OFFSET 4
#define PCPU_RSEQ_CS_OFFSET 8
#define PCPU_RSEQ_MM_CID_OFFSET 24 /* Linux 6.3; see pcpu__cid_rseq_offset */
#define PCPU__STR(x) #x
#define PCPU__XSTR(x) PCPU__STR(x)

/* The one place that selects an architecture: each one's header lives in
 * arch/<arch>/include/percpu/arch/ of the source tree. */
#define PERCPU_ARCH_H_INSIDE 1
#if defined(__x86_64__)
#include <percpu/arch/x86_64.h>
#elif defined(__aarch64__)
#include <percpu/arch/aarch64.h>
#else
#error "percpu: unsupported architecture (x86-64 and AArch64 are supported)"
#endif
#undef PERCPU_ARCH_H_INSIDE

#endif /* PERCPU_ARCH_H */
