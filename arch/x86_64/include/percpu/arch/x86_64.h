/*
 * x86-64 this_cpu fast paths: rseq critical sections.
 *
 * ABI notes (x86-64 psABI, linux/rseq.h):
 *  - The thread pointer is %fs.base; glibc's __rseq_offset and our own area's
 *    offset are relative to it, so the area is addressed as %fs:off(%reg)
 *    without reading the thread pointer first.
 *  - struct rseq: cpu_id at +4 (u32; -1 uninitialised, -2 registration
 *    failed), rseq_cs at +8 (u64 pointer to the descriptor).
 *  - struct rseq_cs (32-byte aligned): u32 version, u32 flags, u64 start_ip,
 *    u64 post_commit_offset, u64 abort_ip.
 *  - The abort handler must be preceded by the 4-byte signature registered
 *    with the kernel, RSEQ_SIG = 0x53053053 (glibc's value).  We emit it as
 *    the displacement of `ud1 0x53053053(%rip), %edi` (0f b9 3d <sig>) so that
 *    the signature never executes as code, as librseq does.
 *  - The commit is one instruction (a store, or a non-locked read-modify-write
 *    to memory): an interrupt either happens before it, and the kernel moves
 *    us to the abort handler, or after it.  The abort handler restarts the
 *    whole sequence, re-arming rseq_cs (the kernel clears it on abort).
 *  - rseq_cs is cleared again right after the commit (one store).  The
 *    descriptor lives in the code's own object; if it belongs to a module,
 *    unloading the module unmaps it, and a thread whose rseq_cs still pointed
 *    there would be killed with SIGSEGV the next time the kernel looked at it
 *    (on preemption or signal delivery).  With the clear, only a thread still
 *    executing the module's code can hold it, which unloading forbids anyway.
 *    A program that never unloads modules may define PCPU_RSEQ_NO_DISARM
 *    before including <percpu/percpu.h> to drop that store (measured: about
 *    0.1-0.5 ns per operation here).
 *
 * Do not include this file directly: include <percpu/percpu.h>.
 */
#ifndef PERCPU_ARCH_H_INSIDE
#error "include <percpu/percpu.h>, not <percpu/arch/x86_64.h>"
#endif
#ifndef PERCPU_ARCH_X86_64_H
#define PERCPU_ARCH_X86_64_H

#include <stdint.h>

#define PCPU_ARCH_NAME "x86_64"
#define PCPU_ARCH_POOL_FAST 1
#define PCPU_RSEQ_SIG 0x53053053

static inline intptr_t pcpu_arch_thread_pointer(void)
{
    intptr_t tp;
    __asm__("movq %%fs:0, %0" : "=r"(tp));
    return tp;
}

static inline int pcpu_arch_current_cpu(void)
{
    long off = __atomic_load_n(&pcpu__thread_rseq_offset, __ATOMIC_RELAXED);
    int cpu;
    if (PCPU_UNLIKELY(off == 0))
        return -1;
    __asm__ __volatile__("movl %%fs:" PCPU__XSTR(PCPU_RSEQ_CPU_ID_OFFSET) "(%1), %0" : "=r"(cpu) : "r"(off));
    return cpu;
}

/*
 * The frame shared by every operation.  Registers: %rax is scratch (descriptor
 * address, then cpu, then the unit offset); `body` addresses the current
 * CPU's copy as (%[p],%%rax) and ends with the commit instruction.
 *
 *        xor  ret, ret
 *   6:   lea  3b(%rip), %rax          ; arm: rseq->rseq_cs = &descriptor
 *        mov  %rax, %fs:8(off)
 *   1:   mov  %fs:4(off), %eax        ; start_ip: cpu = rseq->cpu_id
 *        test %eax, %eax ; js 5f      ; not registered: slow path (a shared
 *                                     ; object's bounded table: cmp $N, %eax;
 *                                     ; jae 5f, for a CPU past it too)
 *        mov  (offs,%rax,8), %rax     ; unit offset of this CPU (or, with
 *                                     ; PCPU_RSEQ_UNIT_SHIFT, shl %cl, %rax)
 *        body                          ; ... commit
 *   2:   movq $0, %fs:8(off)          ; post_commit_ip: disarm
 *   (section __rseq_failure)
 *        ud1  0x53053053(%rip), %edi  ; signature
 *   4:   jmp  6b                      ; abort_ip: restart
 *   5:   mov  $1, ret ; jmp 2b        ; slow path wanted
 */
#ifdef PCPU_RSEQ_NO_DISARM
#define PCPU__X86_DISARM ""
#else
#define PCPU__X86_DISARM "movq $0, %%fs:" PCPU__XSTR(PCPU_RSEQ_CS_OFFSET) "(%[roff])\n\t"
#endif

#define PCPU__X86_RSEQ_AT(field, unit, body)                                          \
    ".pushsection __rseq_cs, \"aw\"\n\t"                                       \
    ".balign 32\n\t"                                                           \
    "3:\n\t"                                                                   \
    ".long 0, 0\n\t"                                                           \
    ".quad 1f, (2f - 1f), 4f\n\t"                                              \
    ".popsection\n\t"                                                          \
    "xorl %k[ret], %k[ret]\n\t"                                                \
    "6:\n\t"                                                                   \
    "leaq 3b(%%rip), %%rax\n\t"                                                \
    "movq %%rax, %%fs:" PCPU__XSTR(PCPU_RSEQ_CS_OFFSET) "(%[roff])\n\t"           \
    "1:\n\t"                                                                   \
    "movl %%fs:" field "(%[roff]), %%eax\n\t"                                 \
    unit                                                                       \
    body                                                                       \
    "2:\n\t"                                                                   \
    PCPU__X86_DISARM                                                           \
    ".pushsection __rseq_failure, \"ax\"\n\t"                                  \
    ".byte 0x0f, 0xb9, 0x3d\n\t"                                               \
    ".long " PCPU__XSTR(PCPU_RSEQ_SIG) "\n\t"                                    \
    "4:\n\t"                                                                   \
    "jmp 6b\n\t"                                                               \
    "5:\n\t"                                                                   \
    "movl $1, %k[ret]\n\t"                                                     \
    "jmp 2b\n\t"                                                               \
    ".popsection\n\t"

/*
 * The unit offset of CPU %rax: loaded from pcpu_unit_offset[cpu].  Units are
 * one power-of-two stride apart, so it is also pcpu__unit_base +
 * (cpu << pcpu__unit_shift), and defining PCPU_RSEQ_UNIT_SHIFT computes it
 * that way: the base added to the pointer before the sequence, a shift
 * instead of the load.  Measured on the project's x86-64 VM (bench/run.sh
 * prints both), the load is 2-4% faster: the loop is bound by the rseq
 * area's stores, not by this load's latency, and the shift's extra
 * instructions cost more than the load.  The pools (no table) always shift.
 */
/* Each unit computation starts with the check of the CPU number: negative
 * (not registered) takes the slow path. */
#define PCPU__X86_CPU_CHECK "testl %%eax, %%eax\n\tjs 5f\n\t"
#ifdef PCPU__FAST_UNIT_LIMIT
/* A shared object's bounded table (PCPU_LIBRARY_UNIT_ENTRIES in
 * <percpu/percpu.h>): a CPU past it takes the slow path too, and one
 * unsigned comparison covers both. */
#define PCPU__X86_UNIT_TABLE                                                   \
    "cmpl $" PCPU__XSTR(PCPU__FAST_UNIT_LIMIT) ", %%eax\n\t"                  \
    "jae 5f\n\t"                                                               \
    "movq (%[offs],%%rax,8), %%rax\n\t"
#else
#define PCPU__X86_UNIT_TABLE PCPU__X86_CPU_CHECK "movq (%[offs],%%rax,8), %%rax\n\t"
#endif
#if !defined(PCPU_RSEQ_UNIT_SHIFT)
#define PCPU__X86_UNIT PCPU__X86_UNIT_TABLE
#define PCPU__X86_UNIT_INPUTS [offs] "r"(PCPU__FAST_UNIT_TABLE), [p] "r"(canon)
#elif defined(__BMI2__)
#define PCPU__X86_UNIT PCPU__X86_CPU_CHECK "shlxq %[sh], %%rax, %%rax\n\t"
#define PCPU__X86_UNIT_INPUTS [sh] "r"(pcpu__unit_shift_), [p] "r"(pcpu__base_)
#else
#define PCPU__X86_UNIT PCPU__X86_CPU_CHECK "shlq %%cl, %%rax\n\t"
#define PCPU__X86_UNIT_INPUTS [sh] "c"(pcpu__unit_shift_), [p] "r"(pcpu__base_)
#endif
#define PCPU__X86_RSEQ_UNIT(unit, body) PCPU__X86_RSEQ_AT(PCPU__XSTR(PCPU_RSEQ_CPU_ID_OFFSET), unit, body)

#if defined(__BMI2__)
#define PCPU__X86_SHIFT PCPU__X86_CPU_CHECK "shlxq %[sh], %%rax, %%rax\n\t"
#define PCPU__X86_SHIFT_INPUTS [sh] "r"(pcpu__unit_shift_), [p] "r"(pcpu__base_)
#else
#define PCPU__X86_SHIFT PCPU__X86_CPU_CHECK "shlq %%cl, %%rax\n\t"
#define PCPU__X86_SHIFT_INPUTS [sh] "c"(pcpu__unit_shift_), [p] "r"(pcpu__base_)
#endif

/*
 * Families of operations, generated by the same macros:
 *   cpu   pcpu_arch_<op>_N(void *canon, ...): the per-CPU variables and
 *         alloc_percpu objects; the unit is rseq->cpu_id.
 *   pcpu  pcpu_arch_pool_cpu_<op>_N(uintptr_t base, unsigned long shift, ...)
 *   pcid  pcpu_arch_pool_cid_<op>_N(uintptr_t base, unsigned long shift, ...)
 *         pools (pcpu_pool_create): the copy is base + (unit << shift), the
 *         unit rseq->cpu_id or rseq->mm_cid (offset 24).
 */
#define PCPU__X86_FN_cpu(name, bits) pcpu_arch_##name##_##bits
#define PCPU__X86_FN_pcpu(name, bits) pcpu_arch_pool_cpu_##name##_##bits
#define PCPU__X86_FN_pcid(name, bits) pcpu_arch_pool_cid_##name##_##bits
#define PCPU__X86_FN(fam, name, bits) PCPU__X86_FN_##fam(name, bits)
#define PCPU__X86_PARAMS_cpu void *canon
#define PCPU__X86_PARAMS_pcpu uintptr_t pcpu__pbase, unsigned long pcpu__pshift
#define PCPU__X86_PARAMS_pcid uintptr_t pcpu__pbase, unsigned long pcpu__pshift
#define PCPU__X86_RSEQ_cpu(body) PCPU__X86_RSEQ_AT(PCPU__XSTR(PCPU_RSEQ_CPU_ID_OFFSET), PCPU__X86_UNIT, body)
#define PCPU__X86_RSEQ_pcpu(body) PCPU__X86_RSEQ_AT(PCPU__XSTR(PCPU_RSEQ_CPU_ID_OFFSET), PCPU__X86_SHIFT, body)
#define PCPU__X86_RSEQ_pcid(body) PCPU__X86_RSEQ_AT(PCPU__XSTR(PCPU_RSEQ_MM_CID_OFFSET), PCPU__X86_SHIFT, body)
#define PCPU__X86_INPUTS_cpu [roff] "r"(pcpu__rseq_offset_), PCPU__X86_UNIT_INPUTS
#define PCPU__X86_INPUTS_pcpu [roff] "r"(pcpu__rseq_offset_), PCPU__X86_SHIFT_INPUTS
#define PCPU__X86_INPUTS_pcid [roff] "r"(pcpu__rseq_offset_), PCPU__X86_SHIFT_INPUTS

#define PCPU__X86_PROLOGUE_AT(offset_var, base, shift)                         \
    long pcpu__rseq_offset_ = __atomic_load_n(&offset_var, __ATOMIC_RELAXED);  \
    int ret;                                                                   \
    if (PCPU_UNLIKELY(pcpu__rseq_offset_ == 0))                                \
        return 1;                                                              \
    unsigned long pcpu__unit_shift_ = (shift);                                 \
    uintptr_t pcpu__base_ = (base);                                            \
    (void)pcpu__unit_shift_;                                                   \
    (void)pcpu__base_;
#define PCPU__X86_PROLOGUE_cpu                                                 \
    PCPU__X86_PROLOGUE_AT(pcpu__thread_rseq_offset,                            \
                          (uintptr_t)canon + pcpu__unit_base, pcpu__unit_shift)
#define PCPU__X86_PROLOGUE_pcpu                                                \
    PCPU__X86_PROLOGUE_AT(pcpu__rseq_offset, pcpu__pbase, pcpu__pshift)
#define PCPU__X86_PROLOGUE_pcid                                                \
    PCPU__X86_PROLOGUE_AT(pcpu__cid_rseq_offset, pcpu__pbase, pcpu__pshift)

/* sfx: instruction suffix; mod: operand modifier for a register of that width;
 * vc: constraint for a value operand (immediates fit the instruction). */
/* One instruction that is both the operation and the commit: `insn v` to
 * the copy (add, and, or; mov for write). */
#define PCPU__X86_DEFINE_MEMOP(fam, bits, name, insn, sfx, mod, vc)             \
    static inline int PCPU__X86_FN(fam, name, bits)(PCPU__X86_PARAMS_##fam,     \
                                                    uint##bits##_t v)          \
    {                                                                          \
        PCPU__X86_PROLOGUE_##fam                                                 \
        __asm__ __volatile__(PCPU__X86_RSEQ_##fam(                               \
                                 insn sfx " %" mod "[v], (%[p],%%rax)\n\t")    \
                             : [ret] "=&r"(ret)                                \
                             : PCPU__X86_INPUTS_##fam, [v] vc(v)                     \
                             : "rax", "memory", "cc");                         \
        return ret;                                                            \
    }

#define PCPU__X86_DEFINE_OPS(fam, bits, sfx, mod, vc)                           \
    PCPU__X86_DEFINE_MEMOP(fam, bits, add, "add", sfx, mod, vc)                     \
    PCPU__X86_DEFINE_MEMOP(fam, bits, and, "and", sfx, mod, vc)                     \
    PCPU__X86_DEFINE_MEMOP(fam, bits, or, "or", sfx, mod, vc)                       \
    PCPU__X86_DEFINE_MEMOP(fam, bits, write, "mov", sfx, mod, vc)                   \
    static inline int PCPU__X86_FN(fam, add_return, bits)(PCPU__X86_PARAMS_##fam,\
                                                   uint##bits##_t v,           \
                                                   uint##bits##_t *result)     \
    {                                                                          \
        uint##bits##_t r;                                                      \
        PCPU__X86_PROLOGUE_##fam                                                 \
        __asm__ __volatile__(                                                  \
            PCPU__X86_RSEQ_##fam("mov" sfx " (%[p],%%rax), %" mod "[r]\n\t"          \
                           "add" sfx " %" mod "[v], %" mod "[r]\n\t"           \
                           "mov" sfx " %" mod "[r], (%[p],%%rax)\n\t")         \
            : [ret] "=&r"(ret), [r] "=&r"(r)                                   \
            : PCPU__X86_INPUTS_##fam, [v] vc(v)                                      \
            : "rax", "memory", "cc");                                          \
        *result = r;                                                           \
        return ret;                                                            \
    }                                                                          \
    static inline int PCPU__X86_FN(fam, xchg, bits)(PCPU__X86_PARAMS_##fam,      \
                                                   uint##bits##_t v,           \
                                                   uint##bits##_t *old)        \
    {                                                                          \
        uint##bits##_t r;                                                      \
        PCPU__X86_PROLOGUE_##fam                                                 \
        __asm__ __volatile__(                                                  \
            PCPU__X86_RSEQ_##fam("mov" sfx " (%[p],%%rax), %" mod "[r]\n\t"          \
                           "mov" sfx " %" mod "[v], (%[p],%%rax)\n\t")         \
            : [ret] "=&r"(ret), [r] "=&r"(r)                                   \
            : PCPU__X86_INPUTS_##fam, [v] vc(v)                                      \
            : "rax", "memory", "cc");                                          \
        *old = r;                                                              \
        return ret;                                                            \
    }                                                                          \
    static inline int PCPU__X86_FN(fam, cmpxchg, bits)(PCPU__X86_PARAMS_##fam,   \
                                               uint##bits##_t expected,        \
                                               uint##bits##_t desired,         \
                                               uint##bits##_t *old)            \
    {                                                                          \
        uint##bits##_t r;                                                      \
        PCPU__X86_PROLOGUE_##fam                                                 \
        __asm__ __volatile__(                                                  \
            PCPU__X86_RSEQ_##fam("mov" sfx " (%[p],%%rax), %" mod "[r]\n\t"          \
                           "cmp" sfx " %" mod "[e], %" mod "[r]\n\t"           \
                           "jne 2f\n\t"                                        \
                           "mov" sfx " %" mod "[d], (%[p],%%rax)\n\t")         \
            : [ret] "=&r"(ret), [r] "=&r"(r)                                   \
            : PCPU__X86_INPUTS_##fam, [e] vc(expected), [d] "r"(desired)             \
            : "rax", "memory", "cc");                                          \
        *old = r;                                                              \
        return ret;                                                            \
    }

#define PCPU__X86_DEFINE_FAMILY(fam)                                           \
    PCPU__X86_DEFINE_OPS(fam, 8, "b", "b", "ir")                               \
    PCPU__X86_DEFINE_OPS(fam, 16, "w", "w", "ir")                              \
    PCPU__X86_DEFINE_OPS(fam, 32, "l", "k", "ir")                              \
    PCPU__X86_DEFINE_OPS(fam, 64, "q", "q", "er")
PCPU__X86_DEFINE_FAMILY(cpu)
PCPU__X86_DEFINE_FAMILY(pcpu)
PCPU__X86_DEFINE_FAMILY(pcid)

/*
 * pcpu_arch_cmpxchg_on_N: the cmpxchg above, on the copy at canon + unit
 * (unit = pcpu_unit_offset[cpu] of one chosen CPU), committed only while the
 * thread runs on that CPU: the section compares the running CPU's unit
 * offset with `unit`.  This is how a thread holding a CPU (pcpu_get_cpu())
 * updates the held CPU's copy exactly, with no affinity change, against the
 * other threads that run there.  It reads the process's rseq offset, not
 * the thread's (which is 0 while the thread holds a CPU).
 * RETURNS 0 (compared, and stored if equal; *old is the value seen) or 1
 * (the thread is not on that CPU, or rseq is not in use: nothing done).
 */
#define PCPU__X86_DEFINE_CMPXCHG_ON(bits, sfx, mod, vc)                         \
    static inline int pcpu_arch_cmpxchg_on_##bits(void *canon, uintptr_t unit, \
                                                  uint##bits##_t expected,     \
                                                  uint##bits##_t desired,      \
                                                  uint##bits##_t *old)         \
    {                                                                          \
        uint##bits##_t r;                                                      \
        PCPU__X86_PROLOGUE_AT(pcpu__rseq_offset, 0, 0)                         \
        __asm__ __volatile__(                                                  \
            PCPU__X86_RSEQ_UNIT(PCPU__X86_UNIT_TABLE,                          \
                                "cmpq %[unit], %%rax\n\t"                      \
                                "jne 5f\n\t"                                   \
                                "mov" sfx " (%[p],%%rax), %" mod "[r]\n\t"     \
                                "cmp" sfx " %" mod "[e], %" mod "[r]\n\t"      \
                                "jne 2f\n\t"                                   \
                                "mov" sfx " %" mod "[d], (%[p],%%rax)\n\t")    \
            : [ret] "=&r"(ret), [r] "=&r"(r)                                   \
            : [roff] "r"(pcpu__rseq_offset_), [offs] "r"(PCPU__FAST_UNIT_TABLE), \
              [p] "r"(canon), [unit] "r"(unit), [e] vc(expected), [d] "r"(desired) \
            : "rax", "memory", "cc");                                          \
        *old = r;                                                              \
        return ret;                                                            \
    }
PCPU__X86_DEFINE_CMPXCHG_ON(8, "b", "b", "ir")
PCPU__X86_DEFINE_CMPXCHG_ON(16, "w", "w", "ir")
PCPU__X86_DEFINE_CMPXCHG_ON(32, "l", "k", "ir")
PCPU__X86_DEFINE_CMPXCHG_ON(64, "q", "q", "er")

/*
 * 16 bytes: the commit is cmpxchg16b *without* the lock prefix.  It is one
 * instruction that compares and writes all 16 bytes, which is all rseq needs
 * (atomic against preemption and migration of this thread; other CPUs do not
 * write this CPU's copy), and it costs a fraction of the locked form.  The
 * instruction wants the expected value in %rdx:%rax, so the copy's address
 * moves to its own register first.  ZF (set on success) is not needed: the
 * value seen, left in %rdx:%rax either way, tells the caller.
 */
static inline int pcpu_arch_cmpxchg_128(void *canon, pcpu_u128 expected,
                                        pcpu_u128 desired, pcpu_u128 *old)
{
    uint64_t lo, hi = (uint64_t)(expected >> 64), addr;
    PCPU__X86_PROLOGUE_cpu
    __asm__ __volatile__(
        PCPU__X86_RSEQ_UNIT(PCPU__X86_UNIT_TABLE,
                            "leaq (%[p],%%rax), %[addr]\n\t"
                            "movq %[elo], %%rax\n\t"
                            "cmpxchg16b (%[addr])\n\t")
        : [ret] "=&r"(ret), "=&a"(lo), "+d"(hi), [addr] "=&r"(addr)
        : [roff] "r"(pcpu__rseq_offset_), [offs] "r"(PCPU__FAST_UNIT_TABLE), [p] "r"(canon),
          [elo] "r"((uint64_t)expected),
          "b"((uint64_t)desired), "c"((uint64_t)(desired >> 64))
        : "memory", "cc");
    *old = ((pcpu_u128)hi << 64) | lo;
    return ret;
}

/* The slow path's 16-byte compare-and-exchange (the atomic fallback). */
static inline pcpu_u128 pcpu_arch_atomic_cmpxchg_128(void *p, pcpu_u128 expected,
                                                     pcpu_u128 desired)
{
    uint64_t lo = (uint64_t)expected, hi = (uint64_t)(expected >> 64);
    __asm__ __volatile__("lock cmpxchg16b %[m]"
                         : [m] "+m"(*(volatile pcpu_u128 *)p), "+a"(lo), "+d"(hi)
                         : "b"((uint64_t)desired), "c"((uint64_t)(desired >> 64))
                         : "memory", "cc");
    return ((pcpu_u128)hi << 64) | lo;
}

/*
 * pcpu_arch_counter_add: percpu_counter's fast path.  canon points at a
 * per-CPU {int32 delta, int32 counted}.  Adds v to this CPU's delta, unless
 * the CPU has not counted yet (its counted word is 0: the caller marks it
 * first) or the sum s leaves [lo, lo + span) (the batch, computed in 64 bits:
 * no overflow): then nothing is stored.  One critical section, where a
 * this_cpu read and a cmpxchg take two.  RETURNS 0 (added), 1 (out of the
 * batch, or no rseq: the caller's general path) or 2 (this CPU has not
 * counted yet).  It reads the thread's rseq offset, as the this_cpu
 * operations do: a thread that holds a CPU (pcpu_get_cpu()) takes the slow
 * path, which updates the held CPU's delta, so that updates under get_cpu()
 * all land on one CPU and fold when the kernel's would.
 */
static inline int pcpu_arch_counter_add(void *canon, int64_t v, int64_t lo, uint64_t span)
{
    uint64_t r, u;
    PCPU__X86_PROLOGUE_AT(pcpu__thread_rseq_offset, (uintptr_t)canon + pcpu__unit_base, pcpu__unit_shift)
    __asm__ __volatile__(PCPU__X86_RSEQ_cpu("cmpl $0, 4(%[p],%%rax)\n\t"
                                            "je 9f\n\t"
                                            ".pushsection __rseq_failure, \"ax\"\n\t"
                                            "9:\n\t"
                                            "movl $2, %k[ret]\n\t"
                                            "jmp 2f\n\t"
                                            ".popsection\n\t"
                                            "movslq (%[p],%%rax), %[r]\n\t"
                                            "addq %[v], %[r]\n\t"
                                            "movq %[r], %[u]\n\t"
                                            "subq %[lo], %[u]\n\t"
                                            "cmpq %[span], %[u]\n\t"
                                            "jae 5f\n\t"
                                            "movl %k[r], (%[p],%%rax)\n\t")
                         : [ret] "=&r"(ret), [r] "=&r"(r), [u] "=&r"(u)
                         : PCPU__X86_INPUTS_cpu, [v] "r"(v), [lo] "r"(lo), [span] "r"(span)
                         : "rax", "memory", "cc");
    return ret;
}

/*
 * pcpu_arch_ref_add: adds v to this CPU's copy of the per-CPU unsigned long
 * whose canonical address is *word, unless one of *word's two low bits (the
 * percpu_ref mode flags) is set.  The word is read inside the critical
 * section: a membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) issued after
 * a flag is set restarts every section that read it clear and has not
 * committed, so none adds to the per-CPU count once the flag is visible and
 * the membarrier has returned.  RETURNS 0 (added) or 1 (a flag is set, or
 * no rseq: the caller uses the shared count).
 */
static inline int pcpu_arch_ref_add(const unsigned long *word, unsigned long v)
{
    long pcpu__rseq_offset_ = __atomic_load_n(&pcpu__rseq_offset, __ATOMIC_RELAXED);
    int ret;
    if (PCPU_UNLIKELY(pcpu__rseq_offset_ == 0))
        return 1;
    __asm__ __volatile__(PCPU__X86_RSEQ_AT(PCPU__XSTR(PCPU_RSEQ_CPU_ID_OFFSET), PCPU__X86_UNIT_TABLE,
                                           "movq (%[w]), %%rdx\n\t"
                                           "testq $3, %%rdx\n\t"
                                           "jnz 5f\n\t"
                                           "addq %[v], (%%rdx,%%rax)\n\t")
                         : [ret] "=&r"(ret)
                         : [roff] "r"(pcpu__rseq_offset_), [offs] "r"(PCPU__FAST_UNIT_TABLE),
                           [w] "r"(word), [v] "r"(v)
                         : "rax", "rdx", "memory", "cc");
    return ret;
}

#endif /* PERCPU_ARCH_X86_64_H */
