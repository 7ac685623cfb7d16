/*
 * <percpu/pool.h> — pools of fixed-size objects with one copy per unit,
 * indexed by the CPU or by rseq's concurrency id (mm_cid).  Included by
 * <percpu/percpu.h>.
 *
 * Per-CPU variables and alloc_percpu() need a unit for every possible CPU.
 * Much per-CPU data only needs "no two threads use this copy at the same
 * time": statistics, free-object caches, reference counts.  For that, the
 * kernel's mm_cid (Linux >= 6.3) is a smaller index: each running thread of
 * the process holds a concurrency id below min(threads, CPUs allowed), stable
 * while it runs, reused by the next thread scheduled.  A PCPU_POOL_MM_CID
 * pool has units only for the ids that can exist (the real possible CPUs,
 * whatever PERCPU_NR_CPUS simulates), and only the units of ids that were
 * used are ever touched: a 2-thread program on a machine with 4096 CPUs
 * writes 2 copies of each object, however often its threads migrate.
 * PCPU_POOL_CPU pools index by CPU, as alloc_percpu() does, with the same API.
 * Host and module per-CPU variables are not affected: their unit is the CPU.
 *
 *   struct pcpu_pool *pool = pcpu_pool_create(PCPU_POOL_MM_CID, sizeof(long), 1024);
 *   long *hits = pcpu_pool_alloc(pool);            // zero in every unit
 *   pcpu_pool_this_inc(pool, hits);                // rseq on mm_cid
 *   for (unsigned u = 0; u < pcpu_pool_nr_units(pool); u++)
 *       sum += *pcpu_pool_ptr(pool, hits, u);
 *   pcpu_pool_free(pool, hits);
 *   pcpu_pool_destroy(pool);
 *
 * The pointer an allocation returns is canonical, as alloc_percpu()'s: it
 * names the object in every unit and is never dereferenced itself (its range
 * is reserved inaccessible, so a stray dereference faults).
 *
 * Operations: pcpu_pool_this_{add,sub,inc,dec,write,add_return,xchg,cmpxchg}
 * on 1-, 2-, 4- and 8-byte objects, exact with migrating threads, as the
 * this_cpu operations.  Where the kernel has no mm_cid (or rseq is off) they
 * fall back to atomics on the current CPU's unit; pcpu_pool_fast() says which
 * is in use.  The fast path is rseq on x86-64; on AArch64 every operation
 * takes the atomic fallback for now.
 */
#ifndef PERCPU_POOL_H
#define PERCPU_POOL_H

#include <stddef.h>
#include <stdint.h>

/* The architecture's fast paths (PCPU_ARCH_POOL_FAST) and the size switch;
 * <percpu/percpu.h> includes this file at its end, so either order works. */
#include <percpu/percpu.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pcpu_pool_index {
    PCPU_POOL_CPU = 0,    /* one unit per possible CPU, indexed by the CPU */
    PCPU_POOL_MM_CID = 1  /* one unit per possible concurrency id (rseq mm_cid) */
};

/* The fields the inline operations read; the rest is the runtime's. */
struct pcpu_pool {
    uintptr_t pcpu__canon;       /* start of the reserved canonical range */
    unsigned long pcpu__shift;   /* log2 of the unit stride */
    int pcpu__index;             /* enum pcpu_pool_index */
};

/* A pool of at most `max_items` objects of `item_size` bytes (rounded up to
 * 8; at most 1 GiB per unit).  NULL with errno EINVAL (bad index or sizes) or
 * ENOMEM. */
struct pcpu_pool *pcpu_pool_create(int index, size_t item_size, size_t max_items);
/* Releases the pool and every object in it.  NULL is ignored. */
void pcpu_pool_destroy(struct pcpu_pool *pool);
/* An object, zero in every unit; NULL with errno ENOMEM when the pool is full. */
void *pcpu_pool_alloc(struct pcpu_pool *pool);
/* Returns 0; -1 with errno EINVAL, and a message on stderr, for a pointer
 * that is not a live object of this pool (nothing is freed). */
int pcpu_pool_free(struct pcpu_pool *pool, void *ptr);
/* Number of units: possible CPUs (PCPU_POOL_CPU) or possible concurrency ids. */
unsigned int pcpu_pool_nr_units(const struct pcpu_pool *pool);
/* 1 when the pool's operations run on rseq (for MM_CID: the kernel gives
 * mm_cid), 0 when they use the atomic fallback. */
int pcpu_pool_fast(const struct pcpu_pool *pool);

/* Unit `unit`'s copy of `ptr` (an object of `pool`), typed as `ptr`. */
#define pcpu_pool_ptr(pool, ptr, unit)                                         \
    ((__typeof__(&*(ptr)))((uintptr_t)(ptr) +                                  \
                           (((uintptr_t)(unit) + 1) << (pool)->pcpu__shift)))

uint64_t pcpu__pool_slow(const struct pcpu_pool *pool, int op, void *ptr, unsigned int size,
                         uint64_t v, uint64_t v2);

#ifdef __cplusplus
}
#endif

/* The copy of unit u is ptr + ((u + 1) << shift): the fast paths get
 * base = ptr + (1 << shift) and add u << shift. */
#define PCPU__POOL_BASE(pool, p) ((uintptr_t)(p) + ((uintptr_t)1 << (pool)->pcpu__shift))

#if PCPU_ARCH_POOL_FAST
#define PCPU__POOL_FAST(pool, name, bits, p, ...)                              \
    ((pool)->pcpu__index == PCPU_POOL_MM_CID                                   \
         ? pcpu_arch_pool_cid_##name##_##bits(PCPU__POOL_BASE(pool, p),        \
                                              (pool)->pcpu__shift, __VA_ARGS__) \
         : pcpu_arch_pool_cpu_##name##_##bits(PCPU__POOL_BASE(pool, p),        \
                                              (pool)->pcpu__shift, __VA_ARGS__))
#else
#define PCPU__POOL_FAST(pool, name, bits, p, ...) 1
#endif

#define pcpu_pool_this_add(pool, ptr, val)                                     \
    __extension__({                                                            \
        const struct pcpu_pool *pcpu__pl = (pool);                             \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__v = (__typeof__(*pcpu__p))(val);            \
        PCPU__SIZE_SWITCH(pcpu__p, PCPU__POOL_ADD_CASE)                        \
        (void)0;                                                               \
    })
#define PCPU__POOL_ADD_CASE(bits)                                              \
    if (PCPU_UNLIKELY(PCPU__POOL_FAST(pcpu__pl, add, bits, pcpu__p,            \
                                      PCPU__U(bits, pcpu__v))))                \
        pcpu__pool_slow(pcpu__pl, PCPU__OP_ADD, (void *)pcpu__p, bits / 8,     \
                        (uint64_t)PCPU__U(bits, pcpu__v), 0)
#define pcpu_pool_this_sub(pool, ptr, val)                                     \
    pcpu_pool_this_add((pool), (ptr), -(__typeof__(*(ptr)))(val))
#define pcpu_pool_this_inc(pool, ptr) pcpu_pool_this_add((pool), (ptr), 1)
#define pcpu_pool_this_dec(pool, ptr) pcpu_pool_this_add((pool), (ptr), -1)

#define pcpu_pool_this_write(pool, ptr, val)                                   \
    __extension__({                                                            \
        const struct pcpu_pool *pcpu__pl = (pool);                             \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__v = (__typeof__(*pcpu__p))(val);            \
        PCPU__SIZE_SWITCH(pcpu__p, PCPU__POOL_WRITE_CASE)                      \
        (void)0;                                                               \
    })
#define PCPU__POOL_WRITE_CASE(bits)                                            \
    if (PCPU_UNLIKELY(PCPU__POOL_FAST(pcpu__pl, write, bits, pcpu__p,          \
                                      PCPU__U(bits, pcpu__v))))                \
        pcpu__pool_slow(pcpu__pl, PCPU__OP_WRITE, (void *)pcpu__p, bits / 8,   \
                        (uint64_t)PCPU__U(bits, pcpu__v), 0)

/* Value-returning operations: add_return (the new value), xchg (the old one),
 * cmpxchg (the value seen; stored only if it was `old`). */
#define PCPU__POOL_RET(pool, ptr, OP, name, a, b)                              \
    __extension__({                                                            \
        const struct pcpu_pool *pcpu__pl = (pool);                             \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__a = (__typeof__(*pcpu__p))(a);              \
        __typeof__(*pcpu__p) pcpu__b = (__typeof__(*pcpu__p))(b);              \
        uint64_t pcpu__r = 0;                                                  \
        (void)pcpu__b;                                                         \
        switch (sizeof(*pcpu__p)) {                                            \
        case 1: PCPU__POOL_RET_CASE(OP, name, 8); break;                       \
        case 2: PCPU__POOL_RET_CASE(OP, name, 16); break;                      \
        case 4: PCPU__POOL_RET_CASE(OP, name, 32); break;                      \
        case 8: PCPU__POOL_RET_CASE(OP, name, 64); break;                      \
        default: pcpu__bad_size();                                             \
        }                                                                      \
        (__typeof__(*pcpu__p))pcpu__r;                                         \
    })
#define PCPU__POOL_ARGS_add_return(bits) PCPU__U(bits, pcpu__a), &pcpu__o
#define PCPU__POOL_ARGS_xchg(bits) PCPU__U(bits, pcpu__a), &pcpu__o
#define PCPU__POOL_ARGS_cmpxchg(bits) PCPU__U(bits, pcpu__a), PCPU__U(bits, pcpu__b), &pcpu__o
#define PCPU__POOL_RET_CASE(OP, name, bits)                                    \
    {                                                                          \
        uint##bits##_t pcpu__o = 0;                                            \
        if (PCPU_LIKELY(!PCPU__POOL_FAST(pcpu__pl, name, bits, pcpu__p,        \
                                         PCPU__POOL_ARGS_##name(bits))))       \
            pcpu__r = pcpu__o;                                                 \
        else                                                                   \
            pcpu__r = pcpu__pool_slow(pcpu__pl, OP, (void *)pcpu__p, bits / 8, \
                                      (uint64_t)PCPU__U(bits, pcpu__a),        \
                                      (uint64_t)PCPU__U(bits, pcpu__b));       \
        (void)pcpu__o;                                                         \
    }
#define pcpu_pool_this_add_return(pool, ptr, val)                              \
    PCPU__POOL_RET((pool), (ptr), PCPU__OP_ADD_RETURN, add_return, (val), 0)
#define pcpu_pool_this_xchg(pool, ptr, val)                                    \
    PCPU__POOL_RET((pool), (ptr), PCPU__OP_XCHG, xchg, (val), 0)
#define pcpu_pool_this_cmpxchg(pool, ptr, old, new)                            \
    PCPU__POOL_RET((pool), (ptr), PCPU__OP_CMPXCHG, cmpxchg, (old), (new))

#endif /* PERCPU_POOL_H */
