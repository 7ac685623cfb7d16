/*
 * AArch64 this_cpu fast paths: rseq critical sections.
 *
 * ABI notes (AAPCS64, linux/rseq.h):
 *  - The thread pointer is TPIDR_EL0; rseq area = tp + offset.
 *  - struct rseq / struct rseq_cs as on x86-64 (see <percpu/arch.h>).
 *  - RSEQ_SIG is 0xd428bc00, the encoding of `brk #0x45e0` (glibc's value);
 *    it is emitted with .inst right before the abort label, so that it would
 *    trap if ever executed.
 *  - No memory operand combines base and index with an extra displacement, so
 *    the copy's address is computed into a register first; the commit is the
 *    final store (str/strh/strb).
 *
 * Status: run under qemu-user by the arm64 test set, on a simulated rseq
 * area with the abort path forced (tests/rseq_sim_test.cc); qemu has no rseq
 * of its own.  Not yet run on arm64 hardware.
 *
 * Do not include this file directly: include <percpu/percpu.h>.
 */
#ifndef PERCPU_ARCH_H_INSIDE
#error "include <percpu/percpu.h>, not <percpu/arch/aarch64.h>"
#endif
#ifndef PERCPU_ARCH_AARCH64_H
#define PERCPU_ARCH_AARCH64_H

#include <stdint.h>

#define PCPU_ARCH_NAME "aarch64"
#define PCPU_ARCH_POOL_FAST 0 /* pools take the atomic fallback for now */
#define PCPU_RSEQ_SIG 0xd428bc00

static inline intptr_t pcpu_arch_thread_pointer(void)
{
    intptr_t tp;
    __asm__("mrs %0, tpidr_el0" : "=r"(tp));
    return tp;
}

static inline int pcpu_arch_current_cpu(void)
{
    long off = __atomic_load_n(&pcpu__thread_rseq_offset, __ATOMIC_RELAXED);
    if (PCPU_UNLIKELY(off == 0))
        return -1;
    return (int)__atomic_load_n((const volatile uint32_t *)(pcpu_arch_thread_pointer() + off +
                                                          PCPU_RSEQ_CPU_ID_OFFSET),
                                __ATOMIC_RELAXED);
}

/*
 *        mov  ret, #0
 *   6:   adrp t, 3b ; add t, t, :lo12:3b ; str t, [rs, #8]   ; arm rseq_cs
 *   1:   ldr  wt, [rs, #4]                                     ; start_ip
 *        tbz  wt, #31, 7f ; b 5f                               ; unregistered?
 *                                  (a shared object's bounded table:
 *                                   cmp wt, #N ; b.lo 7f ; b 5f)
 *   7:
 *        ldr  t, [offs, wt, uxtw #3] ; add t, t, p             ; copy address
 *        body                                                  ; ... commit
 *   2:   str  xzr, [rs, #8]                                    ; disarm (see x86_64.h)
 *   (section __rseq_failure)
 *        .inst RSEQ_SIG
 *   4:   b 6b                                                  ; abort: restart
 *   5:   mov ret, #1 ; b 2b
 */
#ifdef PCPU_RSEQ_NO_DISARM /* see <percpu/arch/x86_64.h> */
#define PCPU__A64_DISARM ""
#else
#define PCPU__A64_DISARM "str xzr, [%[rs], #" PCPU__XSTR(PCPU_RSEQ_CS_OFFSET) "]\n\t"
#endif

/* The CPU number's check: negative (not registered) takes the slow path.
 * TBZ reaches +-32 KiB only: the way out to __rseq_failure, which the linker
 * may place anywhere in .text, is a B (+-128 MiB, and linkers insert veneers
 * for it).  A shared object's bounded table (PCPU_LIBRARY_UNIT_ENTRIES in
 * <percpu/percpu.h>) sends a CPU past it there too, and one unsigned
 * comparison covers both. */
#ifdef PCPU__FAST_UNIT_LIMIT
#define PCPU__A64_CPU_CHECK                                                    \
    "cmp %w[t], #" PCPU__XSTR(PCPU__FAST_UNIT_LIMIT) "\n\t"                   \
    "b.lo 7f\n\t"                                                              \
    "b 5f\n\t"                                                                 \
    "7:\n\t"
#else
#define PCPU__A64_CPU_CHECK                                                    \
    "tbz %w[t], #31, 7f\n\t"                                                   \
    "b 5f\n\t"                                                                 \
    "7:\n\t"
#endif

#define PCPU__A64_RSEQ(body)                                                   \
    ".pushsection __rseq_cs, \"aw\"\n\t"                                       \
    ".balign 32\n\t"                                                           \
    "3:\n\t"                                                                   \
    ".long 0, 0\n\t"                                                           \
    ".quad 1f, (2f - 1f), 4f\n\t"                                              \
    ".popsection\n\t"                                                          \
    "mov %w[ret], #0\n\t"                                                      \
    "6:\n\t"                                                                   \
    "adrp %[t], 3b\n\t"                                                        \
    "add %[t], %[t], :lo12:3b\n\t"                                             \
    "str %[t], [%[rs], #" PCPU__XSTR(PCPU_RSEQ_CS_OFFSET) "]\n\t"                 \
    "1:\n\t"                                                                   \
    "ldr %w[t], [%[rs], #" PCPU__XSTR(PCPU_RSEQ_CPU_ID_OFFSET) "]\n\t"             \
    PCPU__A64_CPU_CHECK                                                        \
    "ldr %[t], [%[offs], %w[t], uxtw #3]\n\t"                                  \
    "add %[t], %[t], %[p]\n\t"                                                 \
    body                                                                       \
    "2:\n\t"                                                                   \
    PCPU__A64_DISARM                                                           \
    ".pushsection __rseq_failure, \"ax\"\n\t"                                  \
    ".inst " PCPU__XSTR(PCPU_RSEQ_SIG) "\n\t"                                    \
    "4:\n\t"                                                                   \
    "b 6b\n\t"                                                                 \
    "5:\n\t"                                                                   \
    "mov %w[ret], #1\n\t"                                                      \
    "b 2b\n\t"                                                                 \
    ".popsection\n\t"

#define PCPU__A64_PROLOGUE PCPU__A64_PROLOGUE_AT(pcpu__thread_rseq_offset)
#define PCPU__A64_PROLOGUE_AT(offset_var)                                      \
    long pcpu__off = __atomic_load_n(&offset_var, __ATOMIC_RELAXED);           \
    int ret;                                                                   \
    uintptr_t t;                                                               \
    if (PCPU_UNLIKELY(pcpu__off == 0))                                         \
        return 1;                                                              \
    char *rs = (char *)pcpu_arch_thread_pointer() + pcpu__off;

#define PCPU__A64_INPUTS                                                       \
    [rs] "r"(rs), [offs] "r"(PCPU__FAST_UNIT_TABLE), [p] "r"(canon)

/* A read-modify-write whose commit is the store: name is the operation's
 * name in pcpu_arch_<name>_N, insn its instruction. */
#define PCPU__A64_DEFINE_RMW(bits, ld, st, reg, name, insn)                    \
    static inline int pcpu_arch_##name##_##bits(void *canon, uint##bits##_t v) \
    {                                                                          \
        uint64_t r;                                                            \
        PCPU__A64_PROLOGUE                                                     \
        __asm__ __volatile__(                                                  \
            PCPU__A64_RSEQ(ld " %" reg "[r], [%[t]]\n\t"                       \
                           insn " %" reg "[r], %" reg "[r], %" reg "[v]\n\t"  \
                           st " %" reg "[r], [%[t]]\n\t")                      \
            : [ret] "=&r"(ret), [t] "=&r"(t), [r] "=&r"(r)                     \
            : PCPU__A64_INPUTS, [v] "r"((uint64_t)v)                           \
            : "memory", "cc");                                                 \
        return ret;                                                            \
    }

/* ld/st: load/store mnemonics of the width; reg: "w" or "x" operand modifier. */
#define PCPU__A64_DEFINE_OPS(bits, ld, st, reg)                                \
    static inline int pcpu_arch_add_##bits(void *canon, uint##bits##_t v)      \
    {                                                                          \
        uint64_t r;                                                            \
        PCPU__A64_PROLOGUE                                                     \
        __asm__ __volatile__(                                                  \
            PCPU__A64_RSEQ(ld " %" reg "[r], [%[t]]\n\t"                       \
                           "add %" reg "[r], %" reg "[r], %" reg "[v]\n\t"     \
                           st " %" reg "[r], [%[t]]\n\t")                      \
            : [ret] "=&r"(ret), [t] "=&r"(t), [r] "=&r"(r)                     \
            : PCPU__A64_INPUTS, [v] "r"((uint64_t)v)                           \
            : "memory", "cc");                                                 \
        return ret;                                                            \
    }                                                                          \
    PCPU__A64_DEFINE_RMW(bits, ld, st, reg, and, "and")                        \
    PCPU__A64_DEFINE_RMW(bits, ld, st, reg, or, "orr")                         \
    static inline int pcpu_arch_write_##bits(void *canon, uint##bits##_t v)    \
    {                                                                          \
        PCPU__A64_PROLOGUE                                                     \
        __asm__ __volatile__(                                                  \
            PCPU__A64_RSEQ(st " %" reg "[v], [%[t]]\n\t")                      \
            : [ret] "=&r"(ret), [t] "=&r"(t)                                   \
            : PCPU__A64_INPUTS, [v] "r"((uint64_t)v)                           \
            : "memory", "cc");                                                 \
        return ret;                                                            \
    }                                                                          \
    static inline int pcpu_arch_add_return_##bits(void *canon,                \
                                                   uint##bits##_t v,           \
                                                   uint##bits##_t *result)     \
    {                                                                          \
        uint64_t r;                                                            \
        PCPU__A64_PROLOGUE                                                     \
        __asm__ __volatile__(                                                  \
            PCPU__A64_RSEQ(ld " %" reg "[r], [%[t]]\n\t"                       \
                           "add %" reg "[r], %" reg "[r], %" reg "[v]\n\t"     \
                           st " %" reg "[r], [%[t]]\n\t")                      \
            : [ret] "=&r"(ret), [t] "=&r"(t), [r] "=&r"(r)                     \
            : PCPU__A64_INPUTS, [v] "r"((uint64_t)v)                           \
            : "memory", "cc");                                                 \
        *result = (uint##bits##_t)r;                                           \
        return ret;                                                            \
    }                                                                          \
    static inline int pcpu_arch_xchg_##bits(void *canon, uint##bits##_t v,     \
                                            uint##bits##_t *old)               \
    {                                                                          \
        uint64_t r;                                                            \
        PCPU__A64_PROLOGUE                                                     \
        __asm__ __volatile__(                                                  \
            PCPU__A64_RSEQ(ld " %" reg "[r], [%[t]]\n\t"                       \
                           st " %" reg "[v], [%[t]]\n\t")                      \
            : [ret] "=&r"(ret), [t] "=&r"(t), [r] "=&r"(r)                     \
            : PCPU__A64_INPUTS, [v] "r"((uint64_t)v)                           \
            : "memory", "cc");                                                 \
        *old = (uint##bits##_t)r;                                              \
        return ret;                                                            \
    }                                                                          \
    static inline int pcpu_arch_cmpxchg_##bits(void *canon,                    \
                                               uint##bits##_t expected,        \
                                               uint##bits##_t desired,         \
                                               uint##bits##_t *old)            \
    {                                                                          \
        uint64_t r;                                                            \
        PCPU__A64_PROLOGUE                                                     \
        __asm__ __volatile__(                                                  \
            PCPU__A64_RSEQ(ld " %" reg "[r], [%[t]]\n\t"                       \
                           "cmp %" reg "[r], %" reg "[e]\n\t"                  \
                           "b.ne 2f\n\t"                                       \
                           st " %" reg "[d], [%[t]]\n\t")                      \
            : [ret] "=&r"(ret), [t] "=&r"(t), [r] "=&r"(r)                     \
            : PCPU__A64_INPUTS, [e] "r"((uint64_t)expected),                   \
              [d] "r"((uint64_t)desired)                                       \
            : "memory", "cc");                                                 \
        *old = (uint##bits##_t)r;                                              \
        return ret;                                                            \
    }

/* Narrow loads zero-extend, so comparisons and adds on w registers see the
 * value; narrow stores keep only the low bits. */
PCPU__A64_DEFINE_OPS(8, "ldrb", "strb", "w")
PCPU__A64_DEFINE_OPS(16, "ldrh", "strh", "w")
PCPU__A64_DEFINE_OPS(32, "ldr", "str", "w")
PCPU__A64_DEFINE_OPS(64, "ldr", "str", "x")

/* pcpu_arch_cmpxchg_on_N: see <percpu/arch/x86_64.h>.  The section compares
 * the running CPU's copy address with canon + unit. */
#define PCPU__A64_DEFINE_CMPXCHG_ON(bits, ld, st, reg)                         \
    static inline int pcpu_arch_cmpxchg_on_##bits(void *canon, uintptr_t unit, \
                                                  uint##bits##_t expected,     \
                                                  uint##bits##_t desired,      \
                                                  uint##bits##_t *old)         \
    {                                                                          \
        uint64_t r;                                                            \
        PCPU__A64_PROLOGUE_AT(pcpu__rseq_offset)                               \
        __asm__ __volatile__(                                                  \
            PCPU__A64_RSEQ("cmp %[t], %[want]\n\t"                             \
                           "b.eq 8f\n\t"                                       \
                           "b 5f\n\t"                                          \
                           "8:\n\t"                                            \
                           ld " %" reg "[r], [%[t]]\n\t"                       \
                           "cmp %" reg "[r], %" reg "[e]\n\t"                  \
                           "b.ne 2f\n\t"                                       \
                           st " %" reg "[d], [%[t]]\n\t")                      \
            : [ret] "=&r"(ret), [t] "=&r"(t), [r] "=&r"(r)                     \
            : PCPU__A64_INPUTS, [want] "r"((uintptr_t)canon + unit),           \
              [e] "r"((uint64_t)expected), [d] "r"((uint64_t)desired)          \
            : "memory", "cc");                                                 \
        *old = (uint##bits##_t)r;                                              \
        return ret;                                                            \
    }
PCPU__A64_DEFINE_CMPXCHG_ON(8, "ldrb", "strb", "w")
PCPU__A64_DEFINE_CMPXCHG_ON(16, "ldrh", "strh", "w")
PCPU__A64_DEFINE_CMPXCHG_ON(32, "ldr", "str", "w")
PCPU__A64_DEFINE_CMPXCHG_ON(64, "ldr", "str", "x")

/*
 * 16 bytes: ldp, compare both halves, and stp as the commit.  stp is one
 * instruction: an interrupt is taken before or after it, never inside, which
 * is the atomicity rseq needs (other CPUs do not write this CPU's copy).
 * CASP would need LSE and LDXP/STXP a retry loop, neither of which this
 * needs.
 */
static inline int pcpu_arch_cmpxchg_128(void *canon, pcpu_u128 expected,
                                        pcpu_u128 desired, pcpu_u128 *old)
{
    uint64_t lo, hi;
    PCPU__A64_PROLOGUE
    __asm__ __volatile__(
        PCPU__A64_RSEQ("ldp %[lo], %[hi], [%[t]]\n\t"
                       "cmp %[lo], %[elo]\n\t"
                       "ccmp %[hi], %[ehi], #0, eq\n\t"
                       "b.ne 2f\n\t"
                       "stp %[dlo], %[dhi], [%[t]]\n\t")
        : [ret] "=&r"(ret), [t] "=&r"(t), [lo] "=&r"(lo), [hi] "=&r"(hi)
        : PCPU__A64_INPUTS, [elo] "r"((uint64_t)expected),
          [ehi] "r"((uint64_t)(expected >> 64)), [dlo] "r"((uint64_t)desired),
          [dhi] "r"((uint64_t)(desired >> 64))
        : "memory", "cc");
    *old = ((pcpu_u128)hi << 64) | lo;
    return ret;
}

/* The slow path's 16-byte compare-and-exchange (the atomic fallback): an
 * exclusive pair, which every ARMv8.0 core has. */
static inline pcpu_u128 pcpu_arch_atomic_cmpxchg_128(void *p, pcpu_u128 expected,
                                                     pcpu_u128 desired)
{
    uint64_t lo, hi;
    uint32_t fail;
    __asm__ __volatile__("1: ldxp %[lo], %[hi], [%[p]]\n\t"
                         "cmp %[lo], %[elo]\n\t"
                         "ccmp %[hi], %[ehi], #0, eq\n\t"
                         "b.ne 2f\n\t"
                         "stxp %w[fail], %[dlo], %[dhi], [%[p]]\n\t"
                         "cbnz %w[fail], 1b\n\t"
                         "b 3f\n\t"
                         "2: stxp %w[fail], %[lo], %[hi], [%[p]]\n\t"
                         "cbnz %w[fail], 1b\n\t"
                         "3:\n\t"
                         : [lo] "=&r"(lo), [hi] "=&r"(hi), [fail] "=&r"(fail)
                         : [p] "r"(p), [elo] "r"((uint64_t)expected),
                           [ehi] "r"((uint64_t)(expected >> 64)),
                           [dlo] "r"((uint64_t)desired), [dhi] "r"((uint64_t)(desired >> 64))
                         : "memory", "cc");
    return ((pcpu_u128)hi << 64) | lo;
}

/* pcpu_arch_counter_add: see <percpu/arch/x86_64.h>. */
static inline int pcpu_arch_counter_add(void *canon, int64_t v, int64_t lo, uint64_t span)
{
    uint64_t r, u;
    PCPU__A64_PROLOGUE
    __asm__ __volatile__(PCPU__A64_RSEQ("ldr %w[u], [%[t], #4]\n\t"
                                        "cbnz %w[u], 10f\n\t"
                                        "b 9f\n\t"
                                        ".pushsection __rseq_failure, \"ax\"\n\t"
                                        "9:\n\t"
                                        "mov %w[ret], #2\n\t"
                                        "b 2f\n\t"
                                        ".popsection\n\t"
                                        "10:\n\t"
                                        "ldrsw %[r], [%[t]]\n\t"
                                        "add %[r], %[r], %[v]\n\t"
                                        "sub %[u], %[r], %[lo]\n\t"
                                        "cmp %[u], %[span]\n\t"
                                        "b.lo 8f\n\t"
                                        "b 5f\n\t"
                                        "8:\n\t"
                                        "str %w[r], [%[t]]\n\t")
                         : [ret] "=&r"(ret), [t] "=&r"(t), [r] "=&r"(r), [u] "=&r"(u)
                         : PCPU__A64_INPUTS, [v] "r"(v), [lo] "r"(lo), [span] "r"(span)
                         : "memory", "cc");
    return ret;
}

/* pcpu_arch_ref_add: see <percpu/arch/x86_64.h>.  The frame adds the unit
 * offset to p = 0; the body adds the pointer read from *word. */
static inline int pcpu_arch_ref_add(const unsigned long *word, unsigned long v)
{
    uint64_t r, w;
    void *canon = 0;
    PCPU__A64_PROLOGUE_AT(pcpu__rseq_offset)
    __asm__ __volatile__(PCPU__A64_RSEQ("ldr %[w], [%[word]]\n\t"
                                        "tst %[w], #3\n\t"
                                        "b.eq 8f\n\t"
                                        "b 5f\n\t"
                                        "8:\n\t"
                                        "add %[t], %[t], %[w]\n\t"
                                        "ldr %[r], [%[t]]\n\t"
                                        "add %[r], %[r], %[v]\n\t"
                                        "str %[r], [%[t]]\n\t")
                         : [ret] "=&r"(ret), [t] "=&r"(t), [r] "=&r"(r), [w] "=&r"(w)
                         : PCPU__A64_INPUTS, [word] "r"(word), [v] "r"((uint64_t)v)
                         : "memory", "cc");
    return ret;
}

#endif /* PERCPU_ARCH_AARCH64_H */
