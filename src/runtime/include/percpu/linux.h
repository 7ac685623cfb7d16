/*
 * <percpu/linux.h> — the Linux kernel's per-CPU API spelled as in the kernel,
 * on top of <percpu/percpu.h>, so that per-CPU code written for the kernel
 * compiles unchanged in user space.
 *
 *   DEFINE_PER_CPU(long, hits);            // ELF symbol `hits`, as in the kernel
 *   static DEFINE_PER_CPU(u32, hist[16]);  // array declarators work
 *   this_cpu_inc(hits);
 *   long total = 0; int cpu;
 *   for_each_possible_cpu(cpu) total += per_cpu(hits, cpu);
 *
 * What is here (each with the kernel's types and conversions):
 *  - definitions: DEFINE/DECLARE_PER_CPU and the _FIRST, _SHARED_ALIGNED,
 *    _ALIGNED, _PAGE_ALIGNED, _READ_MOSTLY, _DECRYPTED, _CACHE_HOT and
 *    _SECTION flavours, DEFINE_STATIC_PER_CPU (2006), EXPORT_PER_CPU_SYMBOL,
 *    `__percpu`, `__aligned()`, `____cacheline_aligned`;
 *  - the this_cpu_, __this_cpu_ and raw_cpu_ operations: read, write, add,
 *    sub, inc, dec, and, or, xchg, cmpxchg, try_cmpxchg, cmpxchg64,
 *    try_cmpxchg64, cmpxchg128, try_cmpxchg128, cmpxchg_double, add_return,
 *    sub_return, inc_return, dec_return; __get_cpu_var/__raw_get_cpu_var;
 *  - pointers: per_cpu, per_cpu_ptr, this_cpu_ptr, raw_cpu_ptr, get_cpu_ptr,
 *    get_cpu_var and their put_ forms, per_cpu_offset, __per_cpu_offset;
 *  - CPU numbers and masks: nr_cpu_ids, num_{possible,online,present}_cpus,
 *    cpu_{possible,online,present}, for_each_{possible,online,present}_cpu,
 *    smp_processor_id, get_cpu/put_cpu, preempt_disable/enable,
 *    migrate_disable/enable, cpumask_t with cpu_{possible,online,present}_mask,
 *    for_each_cpu, cpumask_test_cpu, cpumask_weight and a few more;
 *  - allocation: alloc_percpu, alloc_percpu_gfp, __alloc_percpu,
 *    __alloc_percpu_gfp, free_percpu, and `__free(free_percpu)`;
 *  - <percpu/percpu-refcount.h> (struct percpu_ref), as the kernel's
 *    <linux/percpu-refcount.h> is reached from <linux/percpu.h> users;
 *  - <percpu/local_lock.h> (local_lock_t) and <percpu/percpu_counter.h>
 *    (struct percpu_counter), included from here.
 *
 * Differences from the kernel, all forced by user space:
 *  - User space cannot disable preemption.  get_cpu(), preempt_disable(),
 *    get_cpu_var(), get_cpu_ptr() and local_lock() hold the thread's CPU
 *    and take that CPU's lock until the matching put (see pcpu_get_cpu() in
 *    <percpu/percpu.h>): smp_processor_id(), this_cpu_ptr() and this_cpu_*
 *    all name that CPU meanwhile, and two such sections never run on one CPU
 *    at once.  Outside them this_cpu_ptr()/smp_processor_id() can be stale
 *    on return; the this_cpu_* operations are migration-safe everywhere.
 *  - The raw_cpu_ and __this_cpu_ forms are the this_cpu_ operations: user
 *    space has no cheaper unprotected form worth the risk.
 *  - `__percpu` is empty for the compiler.  Under sparse (`__CHECKER__`) it
 *    is the kernel's address-space annotation, so `sparse` checks user-space
 *    code the way it checks the kernel's.
 *  - GFP flags are accepted and ignored: per-CPU memory is always zeroed on
 *    every CPU (as __GFP_ZERO asks) and allocation may sleep on a lock.
 *  - free_percpu() of something that is not a live allocation is reported on
 *    stderr and otherwise ignored (the kernel WARNs).
 *  - C++: per-CPU variables must be constant-initialised (they are copied
 *    into the units before constructors run; a constructor would only change
 *    the canonical template).
 *
 * Names that kernel headers outside the per-CPU ones also define (`__aligned`,
 * `__free`, `GFP_KERNEL`, preempt_disable...) are defined only when not
 * already defined, so kernel-style shims included first take precedence.
 *
 * Valid C11 (gnu11 for the statement expressions it uses) and C++20.
 */
#ifndef PERCPU_LINUX_H
#define PERCPU_LINUX_H

#include <percpu/module.h>
#include <percpu/percpu.h>

/* ---- Annotations and attributes ------------------------------------------ */

#ifndef __percpu
#ifdef __CHECKER__
#define __percpu __attribute__((noderef, address_space(__percpu)))
#else
#define __percpu
#endif
#endif

#ifndef SMP_CACHE_BYTES
#define SMP_CACHE_BYTES PCPU_CACHELINE_BYTES
#endif
#ifndef L1_CACHE_BYTES
#define L1_CACHE_BYTES PCPU_CACHELINE_BYTES
#endif
#ifndef __aligned
#define __aligned(x) __attribute__((__aligned__(x)))
#endif
#ifndef ____cacheline_aligned
#define ____cacheline_aligned __attribute__((__aligned__(SMP_CACHE_BYTES)))
#endif
#ifndef ____cacheline_aligned_in_smp
#define ____cacheline_aligned_in_smp ____cacheline_aligned
#endif
/* The kernel's __cacheline_aligned also names a section; on a per-CPU
 * variable that would fight the per-CPU section, so here it only aligns. */
#ifndef __cacheline_aligned
#define __cacheline_aligned ____cacheline_aligned
#endif
#ifndef __cacheline_aligned_in_smp
#define __cacheline_aligned_in_smp ____cacheline_aligned
#endif

/* ---- Definitions and declarations -------------------------------------- */

#define PER_CPU_BASE_SECTION PCPU_SECTION
#define PER_CPU_FIRST_SECTION "..first"
#define PER_CPU_SHARED_ALIGNED_SECTION "..shared_aligned"
#define PER_CPU_ALIGNED_SECTION "..shared_aligned"
#define PER_CPU_ATTRIBUTES

#define DEFINE_PER_CPU_SECTION(type, name, sec) PCPU_DEFINE_SECTION(type, name, sec)
#define DECLARE_PER_CPU_SECTION(type, name, sec) PCPU_DECLARE_SECTION(type, name, sec)

#define DEFINE_PER_CPU(type, name) DEFINE_PER_CPU_SECTION(type, name, "")
#define DECLARE_PER_CPU(type, name) DECLARE_PER_CPU_SECTION(type, name, "")

/* Rostedt's 2006 spelling of `static DEFINE_PER_CPU`. */
#define DEFINE_STATIC_PER_CPU(type, name) static DEFINE_PER_CPU(type, name)

#define DEFINE_PER_CPU_FIRST(type, name) DEFINE_PER_CPU_SECTION(type, name, "..first")
#define DECLARE_PER_CPU_FIRST(type, name) DECLARE_PER_CPU_SECTION(type, name, "..first")

#define DEFINE_PER_CPU_SHARED_ALIGNED(type, name)                              \
    DEFINE_PER_CPU_SECTION(type, name, "..shared_aligned")                     \
    __attribute__((aligned(PCPU_CACHELINE_BYTES)))
#define DECLARE_PER_CPU_SHARED_ALIGNED(type, name)                             \
    DECLARE_PER_CPU_SECTION(type, name, "..shared_aligned")                    \
    __attribute__((aligned(PCPU_CACHELINE_BYTES)))

/* As in the kernel on SMP: _ALIGNED uses the shared_aligned section. */
#define DEFINE_PER_CPU_ALIGNED(type, name)                                     \
    DEFINE_PER_CPU_SECTION(type, name, "..shared_aligned")                     \
    __attribute__((aligned(PCPU_CACHELINE_BYTES)))
#define DECLARE_PER_CPU_ALIGNED(type, name)                                    \
    DECLARE_PER_CPU_SECTION(type, name, "..shared_aligned")                    \
    __attribute__((aligned(PCPU_CACHELINE_BYTES)))

#define DEFINE_PER_CPU_PAGE_ALIGNED(type, name)                                \
    DEFINE_PER_CPU_SECTION(type, name, "..page_aligned")                       \
    __attribute__((aligned(PCPU_PAGE_BYTES)))
#define DECLARE_PER_CPU_PAGE_ALIGNED(type, name)                               \
    DECLARE_PER_CPU_SECTION(type, name, "..page_aligned")                      \
    __attribute__((aligned(PCPU_PAGE_BYTES)))

#define DEFINE_PER_CPU_READ_MOSTLY(type, name)                                 \
    DEFINE_PER_CPU_SECTION(type, name, "..read_mostly")
#define DECLARE_PER_CPU_READ_MOSTLY(type, name)                                \
    DECLARE_PER_CPU_SECTION(type, name, "..read_mostly")

/* Memory encryption does not exist for user space: the kernel without
 * CONFIG_AMD_MEM_ENCRYPT makes these plain DEFINE_PER_CPU too. */
#define DEFINE_PER_CPU_DECRYPTED(type, name) DEFINE_PER_CPU(type, name)
#define DECLARE_PER_CPU_DECRYPTED(type, name) DECLARE_PER_CPU(type, name)

/* The kernel gathers "cache hot" variables at the start of its block; here
 * they are plain per-CPU variables (the block has no hot subsection). */
#define DEFINE_PER_CPU_CACHE_HOT(type, name) DEFINE_PER_CPU(type, name)
#define DECLARE_PER_CPU_CACHE_HOT(type, name) DECLARE_PER_CPU(type, name)

/*
 * Exports, defined only when not defined yet (a kernel-style shim included
 * first keeps its own).  What the kernel's tools/include/linux/export.h
 * provides is provided here too, and its include guard is taken, so that
 * including it after this header is a no-op instead of a redefinition.
 */
#ifndef EXPORT_SYMBOL
#define EXPORT_SYMBOL(sym) PCPU_EXPORT_SYMBOL(sym)
#endif
#ifndef EXPORT_SYMBOL_GPL
#define EXPORT_SYMBOL_GPL(sym) PCPU_EXPORT_SYMBOL_GPL(sym)
#endif
#ifndef EXPORT_PER_CPU_SYMBOL
#define EXPORT_PER_CPU_SYMBOL(var) PCPU_EXPORT_PER_CPU_SYMBOL(var)
#endif
#ifndef EXPORT_PER_CPU_SYMBOL_GPL
#define EXPORT_PER_CPU_SYMBOL_GPL(var) PCPU_EXPORT_PER_CPU_SYMBOL_GPL(var)
#endif
#ifndef _TOOLS_LINUX_EXPORT_H_
#define _TOOLS_LINUX_EXPORT_H_
#ifndef VMLINUX_SYMBOL
#define VMLINUX_SYMBOL(x) x
#define VMLINUX_SYMBOL_STR(x) #x
#endif
#ifndef EXPORT_SYMBOL_GPL_FUTURE
#define EXPORT_SYMBOL_GPL_FUTURE(sym) EXPORT_SYMBOL_GPL(sym)
#endif
#ifndef EXPORT_UNUSED_SYMBOL
#define EXPORT_UNUSED_SYMBOL(sym)
#define EXPORT_UNUSED_SYMBOL_GPL(sym)
#endif
#endif

/* 2.6.3x: the name of a per-CPU variable's symbol; now the variable itself. */
#define per_cpu_var(var) (var)

/* ---- CPU masks ------------------------------------------------------------- */

/* The kernel's struct cpumask: NR_CPUS bits (PCPU_MAX_CPUS here). */
struct cpumask {
    unsigned long bits[PCPU_MAX_CPUS / (8 * sizeof(unsigned long))];
};
typedef struct cpumask cpumask_t;

#define nr_cpumask_bits (pcpu_nr_cpus())
#define cpumask_bits(maskp) ((maskp)->bits)
#define cpumask_size() (sizeof(struct cpumask))

/* Kept by the runtime; updated by pcpu_refresh_online(). */
#define cpu_possible_mask ((const struct cpumask *)&pcpu__possible_mask)
#define cpu_online_mask ((const struct cpumask *)&pcpu__online_mask)
#define cpu_present_mask ((const struct cpumask *)&pcpu__present_mask)

#define PCPU__MASK_WORD(cpu) ((cpu) / (8 * sizeof(unsigned long)))
#define PCPU__MASK_BIT(cpu) (1UL << ((cpu) % (8 * sizeof(unsigned long))))

static inline int cpumask_test_cpu(int cpu, const struct cpumask *mask)
{
    if ((unsigned int)cpu >= PCPU_MAX_CPUS)
        return 0;
    return (__atomic_load_n(&mask->bits[PCPU__MASK_WORD((unsigned int)cpu)], __ATOMIC_RELAXED) &
            PCPU__MASK_BIT((unsigned int)cpu)) != 0;
}

static inline void cpumask_set_cpu(unsigned int cpu, struct cpumask *mask)
{
    __atomic_fetch_or(&mask->bits[PCPU__MASK_WORD(cpu)], PCPU__MASK_BIT(cpu), __ATOMIC_RELAXED);
}

static inline void cpumask_clear_cpu(int cpu, struct cpumask *mask)
{
    __atomic_fetch_and(&mask->bits[PCPU__MASK_WORD((unsigned int)cpu)],
                       ~PCPU__MASK_BIT((unsigned int)cpu), __ATOMIC_RELAXED);
}

/* The first CPU after `n` (n = -1: the first) set in `mask`, or
 * nr_cpu_ids when there is none. */
static inline unsigned int cpumask_next(int n, const struct cpumask *mask)
{
    unsigned int limit = pcpu_nr_cpus();
    for (unsigned int c = (unsigned int)(n + 1); c < limit; c++)
        if (cpumask_test_cpu((int)c, mask))
            return c;
    return limit;
}

static inline unsigned int cpumask_first(const struct cpumask *mask)
{
    return cpumask_next(-1, mask);
}

/* Number of CPUs set, below nr_cpu_ids. */
static inline unsigned int cpumask_weight(const struct cpumask *mask)
{
    unsigned int n = 0, limit = pcpu_nr_cpus();
    for (unsigned int w = 0; w * 8 * sizeof(unsigned long) < limit; w++) {
        unsigned long bits = __atomic_load_n(&mask->bits[w], __ATOMIC_RELAXED);
        unsigned int first = w * 8 * (unsigned int)sizeof(unsigned long);
        if (limit - first < 8 * sizeof(unsigned long))
            bits &= (1UL << (limit - first)) - 1;
        n += (unsigned int)__builtin_popcountl(bits);
    }
    return n;
}

static inline int cpumask_empty(const struct cpumask *mask)
{
    return cpumask_first(mask) >= pcpu_nr_cpus();
}

static inline void cpumask_clear(struct cpumask *mask)
{
    for (unsigned int w = 0; w < sizeof(mask->bits) / sizeof(mask->bits[0]); w++)
        __atomic_store_n(&mask->bits[w], 0UL, __ATOMIC_RELAXED);
}

static inline void cpumask_copy(struct cpumask *dst, const struct cpumask *src)
{
    for (unsigned int w = 0; w < sizeof(dst->bits) / sizeof(dst->bits[0]); w++)
        __atomic_store_n(&dst->bits[w], __atomic_load_n(&src->bits[w], __ATOMIC_RELAXED),
                         __ATOMIC_RELAXED);
}

static inline void cpumask_setall(struct cpumask *mask)
{
    cpumask_clear(mask);
    for (unsigned int c = 0; c < pcpu_nr_cpus(); c++)
        cpumask_set_cpu(c, mask);
}

/* dst = a & b; RETURNS whether dst is not empty. */
static inline int cpumask_and(struct cpumask *dst, const struct cpumask *a,
                              const struct cpumask *b)
{
    for (unsigned int w = 0; w < sizeof(dst->bits) / sizeof(dst->bits[0]); w++)
        __atomic_store_n(&dst->bits[w],
                         __atomic_load_n(&a->bits[w], __ATOMIC_RELAXED) &
                             __atomic_load_n(&b->bits[w], __ATOMIC_RELAXED),
                         __ATOMIC_RELAXED);
    return !cpumask_empty(dst);
}

static inline void cpumask_or(struct cpumask *dst, const struct cpumask *a,
                              const struct cpumask *b)
{
    for (unsigned int w = 0; w < sizeof(dst->bits) / sizeof(dst->bits[0]); w++)
        __atomic_store_n(&dst->bits[w],
                         __atomic_load_n(&a->bits[w], __ATOMIC_RELAXED) |
                             __atomic_load_n(&b->bits[w], __ATOMIC_RELAXED),
                         __ATOMIC_RELAXED);
}

static inline int cpumask_equal(const struct cpumask *a, const struct cpumask *b)
{
    for (unsigned int c = 0; c < pcpu_nr_cpus(); c++)
        if (cpumask_test_cpu((int)c, a) != cpumask_test_cpu((int)c, b))
            return 0;
    return 1;
}

#define cpumask_any(mask) cpumask_first(mask)

/* cpumask_var_t as the kernel has it without CONFIG_CPUMASK_OFFSTACK: an
 * array of one mask, so that "allocating" it always succeeds. */
typedef struct cpumask cpumask_var_t[1];
#define alloc_cpumask_var(maskp, gfp) ((void)(gfp), 1)
#define zalloc_cpumask_var(maskp, gfp) ((void)(gfp), cpumask_clear(*(maskp)), 1)
#define free_cpumask_var(mask) ((void)(mask))

#define for_each_cpu(cpu, mask)                                                \
    for ((cpu) = (__typeof__(cpu))cpumask_next(-1, (mask));                    \
         (unsigned int)(cpu) < pcpu_nr_cpus();                                 \
         (cpu) = (__typeof__(cpu))cpumask_next((int)(cpu), (mask)))

/* CPUs set in both masks. */
#define for_each_cpu_and(cpu, mask1, mask2)                                    \
    for_each_cpu((cpu), (mask1)) if (!cpumask_test_cpu((int)(cpu), (mask2))) {} else

/* ---- CPUs -------------------------------------------------------------------- */

#define nr_cpu_ids (pcpu_nr_cpus())
#define num_possible_cpus() (pcpu_nr_cpus())
#define num_online_cpus() (cpumask_weight(cpu_online_mask))
#define num_present_cpus() (cpumask_weight(cpu_present_mask))
#define cpu_possible(cpu) ((unsigned int)(cpu) < pcpu_nr_cpus())
#define cpu_online(cpu) (pcpu_cpu_online(cpu))
#define cpu_present(cpu) (pcpu_cpu_present(cpu))
#define smp_processor_id() (pcpu__this_cpu())
#define raw_smp_processor_id() (pcpu__this_cpu())

#define for_each_possible_cpu(cpu)                                             \
    for ((cpu) = 0; (unsigned int)(cpu) < pcpu_nr_cpus(); (cpu)++)
#define for_each_online_cpu(cpu) for_each_cpu((cpu), cpu_online_mask)
#define for_each_present_cpu(cpu) for_each_cpu((cpu), cpu_present_mask)

/* get_cpu() .. put_cpu(): the thread holds its CPU (pcpu_get_cpu()). */
#define get_cpu() (pcpu_get_cpu())
#define put_cpu() (pcpu_put_cpu())

/* Functions, not macros: a shim's preempt.h included after this header
 * (the kernel's radix-tree harness defines them as macros) then simply
 * takes over, without a redefinition; one included before keeps its own. */
#ifndef preempt_disable
static inline void preempt_disable(void) { (void)pcpu_get_cpu(); }
#endif
#ifndef preempt_enable
static inline void preempt_enable(void) { pcpu_put_cpu(); }
#endif
#ifndef preempt_enable_no_resched
#define preempt_enable_no_resched() (pcpu_put_cpu())
#endif
#ifndef migrate_disable
#define migrate_disable() ((void)pcpu_get_cpu())
#define migrate_enable() (pcpu_put_cpu())
#endif

/* ---- Addresses ------------------------------------------------------------------ */

#define __per_cpu_offset pcpu_unit_offset
#define per_cpu_offset(cpu) (pcpu_unit_offset[(cpu)])
#define per_cpu_ptr(ptr, cpu) pcpu_ptr((ptr), (cpu))
#define per_cpu(var, cpu) (*per_cpu_ptr(&(var), (cpu)))
#define this_cpu_ptr(ptr) pcpu_this_ptr(ptr)
#define raw_cpu_ptr(ptr) pcpu_this_ptr(ptr)
#define __this_cpu_ptr(ptr) pcpu_this_ptr(ptr)
#define get_cpu_ptr(ptr) pcpu_ptr((ptr), pcpu_get_cpu())
#define put_cpu_ptr(ptr) ((void)(ptr), pcpu_put_cpu())
#define get_cpu_var(var) (*get_cpu_ptr(&(var)))
#define put_cpu_var(var) put_cpu_ptr(&(var))

/* The 2.6-era spellings (removed from the kernel in 3.x). */
#define __get_cpu_var(var) (*this_cpu_ptr(&(var)))
#define __raw_get_cpu_var(var) (*raw_cpu_ptr(&(var)))

/* ---- this_cpu operations (pcp is the per-CPU lvalue) -------------------------- */

#ifdef __cplusplus
#define PCPU__STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define PCPU__STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define this_cpu_read(pcp) pcpu_this_read(&(pcp))
#define this_cpu_write(pcp, val) pcpu_this_write(&(pcp), (val))
#define this_cpu_add(pcp, val) pcpu_this_add(&(pcp), (val))
#define this_cpu_sub(pcp, val) pcpu_this_sub(&(pcp), (val))
#define this_cpu_inc(pcp) pcpu_this_inc(&(pcp))
#define this_cpu_dec(pcp) pcpu_this_dec(&(pcp))
#define this_cpu_and(pcp, val) pcpu_this_and(&(pcp), (val))
#define this_cpu_or(pcp, val) pcpu_this_or(&(pcp), (val))
#define this_cpu_add_return(pcp, val) pcpu_this_add_return(&(pcp), (val))
#define this_cpu_sub_return(pcp, val) pcpu_this_sub_return(&(pcp), (val))
#define this_cpu_inc_return(pcp) pcpu_this_inc_return(&(pcp))
#define this_cpu_dec_return(pcp) pcpu_this_dec_return(&(pcp))
#define this_cpu_xchg(pcp, nval) pcpu_this_xchg(&(pcp), (nval))
#define this_cpu_cmpxchg(pcp, oval, nval) pcpu_this_cmpxchg(&(pcp), (oval), (nval))
#define this_cpu_try_cmpxchg(pcp, ovalp, nval) pcpu_this_try_cmpxchg(&(pcp), (ovalp), (nval))
#define this_cpu_cmpxchg64(pcp, oval, nval) pcpu_this_cmpxchg(&(pcp), (oval), (nval))
#define this_cpu_try_cmpxchg64(pcp, ovalp, nval) pcpu_this_try_cmpxchg(&(pcp), (ovalp), (nval))
#define this_cpu_cmpxchg128(pcp, oval, nval) pcpu_this_cmpxchg128(&(pcp), (oval), (nval))
#define this_cpu_try_cmpxchg128(pcp, ovalp, nval)                              \
    pcpu_this_try_cmpxchg128(&(pcp), (ovalp), (nval))

/*
 * this_cpu_cmpxchg_double (the kernel until 6.5): two adjacent words of one
 * CPU's copy, the first 2-word aligned, compared and replaced together.
 * RETURNS 1 when both matched and were replaced, 0 otherwise.
 */
#define this_cpu_cmpxchg_double(pcp1, pcp2, o1, o2, n1, n2)                    \
    __extension__({                                                            \
        PCPU__STATIC_ASSERT(sizeof(pcp1) == 8 && sizeof(pcp2) == 8,            \
                            "this_cpu_cmpxchg_double on words of 8 bytes");    \
        if ((char *)&(pcp2) != (char *)&(pcp1) + 8)                            \
            __builtin_trap(); /* the kernel's VM_BUG_ON */                     \
        pcpu_u128 pcpu__do = ((pcpu_u128)(uint64_t)(o2) << 64) | (uint64_t)(o1); \
        pcpu_u128 pcpu__dn = ((pcpu_u128)(uint64_t)(n2) << 64) | (uint64_t)(n1); \
        pcpu_this_cmpxchg128((pcpu_u128 *)(void *)&(pcp1), pcpu__do, pcpu__dn) == \
            pcpu__do;                                                          \
    })

#define raw_cpu_read this_cpu_read
#define raw_cpu_write this_cpu_write
#define raw_cpu_add this_cpu_add
#define raw_cpu_sub this_cpu_sub
#define raw_cpu_inc this_cpu_inc
#define raw_cpu_dec this_cpu_dec
#define raw_cpu_and this_cpu_and
#define raw_cpu_or this_cpu_or
#define raw_cpu_add_return this_cpu_add_return
#define raw_cpu_sub_return this_cpu_sub_return
#define raw_cpu_inc_return this_cpu_inc_return
#define raw_cpu_dec_return this_cpu_dec_return
#define raw_cpu_xchg this_cpu_xchg
#define raw_cpu_cmpxchg this_cpu_cmpxchg
#define raw_cpu_try_cmpxchg this_cpu_try_cmpxchg
#define raw_cpu_cmpxchg64 this_cpu_cmpxchg64
#define raw_cpu_try_cmpxchg64 this_cpu_try_cmpxchg64
#define raw_cpu_cmpxchg128 this_cpu_cmpxchg128
#define raw_cpu_try_cmpxchg128 this_cpu_try_cmpxchg128
#define raw_cpu_cmpxchg_double this_cpu_cmpxchg_double

#define __this_cpu_read this_cpu_read
#define __this_cpu_write this_cpu_write
#define __this_cpu_add this_cpu_add
#define __this_cpu_sub this_cpu_sub
#define __this_cpu_inc this_cpu_inc
#define __this_cpu_dec this_cpu_dec
#define __this_cpu_and this_cpu_and
#define __this_cpu_or this_cpu_or
#define __this_cpu_add_return this_cpu_add_return
#define __this_cpu_sub_return this_cpu_sub_return
#define __this_cpu_inc_return this_cpu_inc_return
#define __this_cpu_dec_return this_cpu_dec_return
#define __this_cpu_xchg this_cpu_xchg
#define __this_cpu_cmpxchg this_cpu_cmpxchg
#define __this_cpu_try_cmpxchg this_cpu_try_cmpxchg
#define __this_cpu_cmpxchg64 this_cpu_cmpxchg64
#define __this_cpu_try_cmpxchg64 this_cpu_try_cmpxchg64
#define __this_cpu_cmpxchg128 this_cpu_cmpxchg128
#define __this_cpu_try_cmpxchg128 this_cpu_try_cmpxchg128
#define __this_cpu_cmpxchg_double this_cpu_cmpxchg_double

/* ---- Dynamic per-CPU memory -------------------------------------------------------- */

#ifndef GFP_KERNEL
typedef unsigned int gfp_t;
#define __GFP_ZERO 0x100u
#define __GFP_NOWARN 0x2000u
#define __GFP_ACCOUNT 0x400000u
#define GFP_ATOMIC 0x820u
#define GFP_NOWAIT 0x800u
#define GFP_NOIO 0xc00u
#define GFP_NOFS 0xc40u
#define GFP_KERNEL 0xcc0u
#define GFP_KERNEL_ACCOUNT (GFP_KERNEL | __GFP_ACCOUNT)
#endif

#define __alloc_percpu(size, align) pcpu_alloc((size), (align))
#define __alloc_percpu_gfp(size, align, gfp) ((void)(gfp), pcpu_alloc((size), (align)))
#define alloc_percpu(type)                                                     \
    ((__typeof__(type) *)pcpu_alloc(sizeof(type), __alignof__(type)))
#define alloc_percpu_gfp(type, gfp)                                            \
    ((__typeof__(type) *)__alloc_percpu_gfp(sizeof(type), __alignof__(type), (gfp)))
#define free_percpu(ptr) ((void)pcpu_free((void *)(ptr)))

/* Scope-based cleanup, as <linux/cleanup.h>:
 *     int __percpu *p __free(free_percpu) = alloc_percpu(int);
 * frees p when it goes out of scope, unless no_free_ptr()/return_ptr() took
 * it. */
#ifndef __free
#define __free(name) __attribute__((__cleanup__(__free_##name)))
#define DEFINE_FREE(name, type, free_expr)                                     \
    static inline void __free_##name(void *p)                                  \
    {                                                                          \
        type _T = *(type *)p;                                                  \
        free_expr;                                                             \
    }
#define no_free_ptr(p)                                                         \
    __extension__({                                                            \
        __typeof__(p) pcpu__nfp = (p);                                         \
        (p) = NULL;                                                            \
        pcpu__nfp;                                                             \
    })
#define return_ptr(p) return no_free_ptr(p)
#endif
DEFINE_FREE(free_percpu, void *, if (_T) free_percpu(_T))

#include <percpu/local_lock.h>
#include <percpu/percpu_counter.h>
#include <percpu/percpu-refcount.h>

#endif /* PERCPU_LINUX_H */
