/*
 * <percpu/percpu.h> — per-CPU data for user-space programs: the pcpu_ API.
 *
 * The model is the Linux kernel's.  Every per-CPU object has one *canonical*
 * address: the link-time address of a DEFINE_PER_CPU variable, or the pointer
 * returned by pcpu_alloc().  CPU n's copy of the object lives at
 *
 *         (char *)canonical + pcpu_unit_offset[n]
 *
 * and pcpu_unit_offset[n] is the same for every per-CPU object of the process
 * (host variables, module blocks, dynamic allocations).  A canonical pointer is
 * never dereferenced directly: it designates the object, the copies hold data.
 *
 * Memory layout (one chunk; more chunks of the same shape are mapped when the
 * first fills, anywhere in the address space):
 *
 *   unit 0            unit 1            ...   unit nr_cpus-1
 *   |<--- stride --->|<--- stride --->|       |<--- stride --->|
 *   [static|dyn ...  ][static|dyn ...  ]  ...  [static|dyn ...  ]
 *
 * One unit per possible CPU, `stride` bytes apart (a power of two).  Address
 * space is reserved up front, pages are committed only when an allocation
 * reaches them.  The host's static block (__per_cpu_start .. __per_cpu_end,
 * gathered by the percpu.ld linker fragment) is copied into every unit before
 * main() and before any constructor of the program runs (see pcpu_init()).
 *
 * Error policy: functions return -1 or NULL and set errno; they never exit.
 * The library aborts (naming the function) only on detected corruption of its
 * own state or a CPU number the kernel reported outside the possible range.
 *
 * Valid C11 (with GNU extensions marked __extension__) and C++20.
 */
#ifndef PERCPU_PERCPU_H
#define PERCPU_PERCPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of possible CPUs the library supports (the kernel's x86-64
 * maximum NR_CPUS).  pcpu_unit_offset[] has this many entries. */
#define PCPU_MAX_CPUS 8192

/* Cache-line size used by the _ALIGNED/_SHARED_ALIGNED variants. */
#ifndef PCPU_CACHELINE_BYTES
#define PCPU_CACHELINE_BYTES 64
#endif

/* Page size used by the _PAGE_ALIGNED variants and the allocator. */
#define PCPU_PAGE_BYTES 4096

/* Largest alignment pcpu_alloc() accepts. */
#define PCPU_MAX_ALIGN PCPU_PAGE_BYTES

/* Section names of a per-CPU block, in canonical order (DESIGN.md, "ABI"). */
#define PCPU_SECTION_FIRST          ".data..percpu..first"
#define PCPU_SECTION_PAGE_ALIGNED   ".data..percpu..page_aligned"
#define PCPU_SECTION_READ_MOSTLY    ".data..percpu..read_mostly"
#define PCPU_SECTION                ".data..percpu"
#define PCPU_SECTION_SHARED_ALIGNED ".data..percpu..shared_aligned"

/* Prefix of the ELF symbol of every per-CPU variable. */
#define PCPU_SYMBOL_PREFIX "per_cpu__"

#if defined(__GNUC__) || defined(__clang__)
#define PCPU_LIKELY(x) __builtin_expect(!!(x), 1)
#define PCPU_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#error "percpu needs GCC or Clang (inline assembly, section attributes)"
#endif

/* ---- Units and CPUs ---------------------------------------------------- */

/*
 * pcpu_unit_offset[n]: add to a canonical pointer to reach CPU n's copy.
 * Filled by pcpu_init(); all zero before (then every CPU "sees" the canonical
 * template, which is what gets copied into the units at initialisation).
 * Read-only for users.
 */
extern uintptr_t pcpu_unit_offset[PCPU_MAX_CPUS];

/* Number of units (possible CPUs) once initialised; 0 before.  Internal: use
 * pcpu_nr_cpus(). */
extern unsigned int pcpu__nr_units;

/* Thread-pointer offset of the rseq area the fast paths read, or 0 when the
 * fast paths are not usable (not initialised, or the atomic fallback is in
 * use).  Internal: read by the inline this_cpu operations only. */
extern long pcpu__rseq_offset;

/*
 * pcpu_init() - map the units and copy the host's static block into them.
 *
 * Runs automatically from .preinit_array, i.e. before every constructor of
 * the program and of the shared libraries it loads, and before main().  It
 * may be called again at any time (idempotent, MT-safe); every other entry
 * point calls it when needed.
 *
 * Environment (read once, at initialisation):
 *   PERCPU_NR_CPUS=N   simulate N possible CPUs (at least the real count).
 *   PERCPU_STRIDE=B    unit stride in bytes (power of two, 16 KiB .. 1 GiB).
 *   PERCPU_RSEQ=0      do not use rseq: sched_getcpu() and atomic operations.
 *
 * RETURNS: 0, or -1 with errno (ENOMEM: address space could not be reserved;
 * EINVAL: a malformed environment variable, reported on stderr).
 */
int pcpu_init(void);

/* Number of possible CPUs (= units).  MT-safe. */
static inline unsigned int pcpu_nr_cpus(void)
{
    extern unsigned int pcpu__nr_cpus_slow(void);
    unsigned int n = __atomic_load_n(&pcpu__nr_units, __ATOMIC_ACQUIRE);
    return PCPU_LIKELY(n != 0) ? n : pcpu__nr_cpus_slow();
}

/* Whether CPU `cpu` was online at initialisation (or last pcpu_refresh_online()). */
int pcpu_cpu_online(unsigned int cpu);

/* Next online CPU after `cpu` (pass -1 to start); pcpu_nr_cpus() when none. */
unsigned int pcpu_next_online_cpu(int cpu);

/* Re-read /sys/devices/system/cpu/online (CPU hotplug).  RETURNS 0 or -1. */
int pcpu_refresh_online(void);

/* Where the current CPU number comes from. */
enum pcpu_cpu_source {
    PCPU_CPU_SOURCE_NONE = 0,   /* not initialised yet */
    PCPU_CPU_SOURCE_GLIBC_RSEQ, /* glibc's registered rseq area (__rseq_offset) */
    PCPU_CPU_SOURCE_OWN_RSEQ,   /* an rseq area this library registers per thread */
    PCPU_CPU_SOURCE_GETCPU      /* sched_getcpu(); this_cpu ops use atomics */
};
enum pcpu_cpu_source pcpu_cpu_source(void);
const char *pcpu_cpu_source_name(enum pcpu_cpu_source source);

/*
 * pcpu_current_cpu() - the CPU the calling thread runs on.
 * The answer may be stale as soon as it is returned (the thread can migrate);
 * use this_cpu operations for updates.  Never fails: returns a CPU number in
 * [0, pcpu_nr_cpus()).  MT-safe.
 */
int pcpu_current_cpu(void);

/* ---- Pointers ------------------------------------------------------------ */

/* CPU `cpu`'s copy of the per-CPU object at canonical pointer `ptr`. */
#define pcpu_ptr(ptr, cpu) \
    ((__typeof__(ptr))((uintptr_t)(ptr) + pcpu_unit_offset[(cpu)]))

/* The calling thread's current CPU's copy (may be stale on return). */
#define pcpu_this_ptr(ptr) pcpu_ptr((ptr), pcpu_current_cpu())

/* ---- Dynamic per-CPU memory ---------------------------------------------- */

/*
 * pcpu_alloc() - allocate `size` bytes in every unit.
 * @size:  1 .. stride bytes.
 * @align: power of two, at most PCPU_MAX_ALIGN; 0 means "natural" (8).
 *
 * The memory is zeroed on every CPU.  MT-safe.
 * RETURNS: the canonical pointer (use pcpu_ptr() to reach a CPU's copy), or
 * NULL with errno EINVAL (bad size/alignment) or ENOMEM.
 */
void *pcpu_alloc(size_t size, size_t align);

/*
 * pcpu_free() - free an object returned by pcpu_alloc().  NULL is ignored.
 * The object's bytes are zeroed in every unit before the space is reused.
 * MT-safe.
 * RETURNS: 0; or -1 with errno EINVAL and a diagnostic on stderr when `ptr`
 * is not a live allocation (double free, interior or foreign pointer, static
 * per-CPU variable).  Set PERCPU_ABORT_ON_BAD_FREE=1 to abort instead.
 */
int pcpu_free(void *ptr);

/* ---- Introspection ------------------------------------------------------- */

struct pcpu_stats {
    unsigned int nr_units;        /* possible CPUs */
    unsigned int nr_chunks;       /* chunks of units mapped */
    size_t unit_stride;           /* bytes between units */
    size_t static_bytes;          /* host static block, per unit */
    size_t dynamic_bytes;         /* live pcpu_alloc() bytes (rounded up to 8), per unit */
    size_t dynamic_allocations;   /* live pcpu_alloc() objects */
    size_t module_bytes;          /* live module blocks (rounded up to 8), per unit */
    size_t module_blocks;         /* live module blocks */
    size_t used_bytes;            /* space taken per unit, with rounding and padding */
    size_t committed_per_unit;    /* bytes made accessible, per unit */
    size_t committed_bytes;       /* committed_per_unit * nr_units */
    size_t reserved_bytes;        /* address space reserved for units */
    enum pcpu_cpu_source cpu_source;
};

/* Fill *st.  RETURNS 0, or -1 with errno (EINVAL: st is NULL). MT-safe. */
int pcpu_get_stats(struct pcpu_stats *st);

/* ---- Exclusive use of one CPU's copies ------------------------------------ */

/*
 * pcpu_get_cpu() / pcpu_put_cpu() - the user-space stand-in for the kernel's
 * preempt_disable()/preempt_enable() around get_cpu_var().
 *
 * User space cannot stop preemption or migration.  pcpu_get_cpu() picks the
 * current CPU and takes that CPU's lock, so that until the matching
 * pcpu_put_cpu() no other thread holding it (through get_cpu_var(),
 * get_cpu_ptr() or these calls) uses the same CPU's copies.  It does not
 * exclude this_cpu_* operations of other threads on the same data.  Nests in
 * one thread (the first CPU is kept).  The thread may migrate meanwhile: the
 * copy it uses stays the one it locked.
 * RETURNS: the locked CPU number.  MT-safe.
 */
int pcpu_get_cpu(void);
void pcpu_put_cpu(void);

/* ---- Module blocks (used by the module loader) -------------------------------- */

/*
 * pcpu_module_block_alloc() - per-CPU space for a module's block: an offset
 * valid in every unit, zeroed on every CPU, accounted as module data.
 * RETURNS the canonical address or NULL with errno (EINVAL, ENOMEM).
 * pcpu_module_block_free() zeroes and frees it (RETURNS 0 or -1/EINVAL);
 * with `give_pages_back`, committed pages left wholly free become
 * inaccessible again, so that undoing a failed load leaves the units exactly
 * as they were (otherwise pages stay committed for the next block).
 * MT-safe.
 */
void *pcpu_module_block_alloc(size_t size, size_t align);
int pcpu_module_block_free(void *canonical, int give_pages_back);

/* ---- Exports (read by the module loader) ------------------------------------ */

enum pcpu_export_kind { PCPU_EXPORT_PLAIN = 0, PCPU_EXPORT_PER_CPU = 1 };

/* One record of the export table (section "percpu_exports"). */
struct pcpu_export {
    const char *name;   /* ELF symbol name (per_cpu__x for per-CPU variables) */
    const void *addr;   /* canonical address */
    uint32_t kind;      /* enum pcpu_export_kind */
    uint32_t gpl_only;  /* EXPORT_*_GPL */
};

/* The host's export record for `name`, or NULL.  MT-safe. */
const struct pcpu_export *pcpu_host_export(const char *name);

#define PCPU__EXPORT(sym, symname, kind, gpl)                                  \
    __attribute__((used, section("percpu_exports"), aligned(8)))              \
    struct pcpu_export pcpu__export_##sym = {(symname), (const void *)&(sym), \
                                             (kind), (gpl)}

#define PCPU_EXPORT_SYMBOL(sym) PCPU__EXPORT(sym, #sym, PCPU_EXPORT_PLAIN, 0)
#define PCPU_EXPORT_SYMBOL_GPL(sym) PCPU__EXPORT(sym, #sym, PCPU_EXPORT_PLAIN, 1)
#define PCPU_EXPORT_PER_CPU_SYMBOL(var) \
    PCPU__EXPORT(var, PCPU_SYMBOL_PREFIX #var, PCPU_EXPORT_PER_CPU, 0)
#define PCPU_EXPORT_PER_CPU_SYMBOL_GPL(var) \
    PCPU__EXPORT(var, PCPU_SYMBOL_PREFIX #var, PCPU_EXPORT_PER_CPU, 1)

/* ---- Definitions ------------------------------------------------------------ */

/*
 * PCPU_DEFINE_SECTION(type, name, section_suffix): the variable's C name is
 * `name`, its ELF symbol PCPU_SYMBOL_PREFIX name, so that a plain
 * `extern T name;` elsewhere cannot bind to it by accident.
 *
 * The initial value must be a constant (always true in C).  In C++ a dynamic
 * initialiser (a constructor, a non-constexpr function call) runs after the
 * units were filled from the image, so it would only change the canonical
 * template, never a CPU's copy.  (`constinit` cannot be forced here: Clang
 * rejects it on class types defined without an initialiser.)
 */
#define PCPU_DEFINE_SECTION(type, name, suffix)                                \
    __attribute__((section(PCPU_SECTION suffix))) __typeof__(type)                 \
    name __asm__(PCPU_SYMBOL_PREFIX #name)
#define PCPU_DECLARE_SECTION(type, name, suffix)                               \
    extern __attribute__((section(PCPU_SECTION suffix))) __typeof__(type) name  \
    __asm__(PCPU_SYMBOL_PREFIX #name)

/* ---- this_cpu operations ------------------------------------------------------ */

/* Slow paths (out of line): initialisation, per-thread rseq registration, the
 * atomic fallback.  `op` is one of PCPU__OP_*; returns the op's result. */
enum {
    PCPU__OP_ADD = 0,
    PCPU__OP_ADD_RETURN,
    PCPU__OP_XCHG,
    PCPU__OP_CMPXCHG,
    PCPU__OP_WRITE,
    PCPU__OP_READ
};
uint64_t pcpu__this_cpu_slow(int op, void *ptr, unsigned int size, uint64_t v,
                             uint64_t v2);

#ifdef __cplusplus
}
#endif

#include <percpu/arch.h>

/* Internal: dispatch on operand size, as the kernel's __pcpu_size_call. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 4)
extern void pcpu__bad_size(void)
    __attribute__((error("this_cpu operation on an object that is not 1, 2, 4 or 8 bytes")));
#endif

#define PCPU__U(size, v) ((uint##size##_t)(uintptr_t)(v))

#define PCPU__SIZE_SWITCH(p, CASE)                                             \
    switch (sizeof(*(p))) {                                                    \
    case 1: CASE(8); break;                                                    \
    case 2: CASE(16); break;                                                   \
    case 4: CASE(32); break;                                                   \
    case 8: CASE(64); break;                                                   \
    default: pcpu__bad_size();                                                 \
    }

/* this_cpu add: *(current CPU's copy of p) += v, atomically w.r.t. migration. */
#define pcpu_this_add(ptr, val)                                                \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__v = (__typeof__(*pcpu__p))(val);            \
        PCPU__SIZE_SWITCH(pcpu__p, PCPU__ADD_CASE)                             \
        (void)0;                                                               \
    })
#define PCPU__ADD_CASE(bits)                                                   \
    if (PCPU_UNLIKELY(pcpu_arch_add_##bits((void *)pcpu__p,                    \
                                           PCPU__U(bits, pcpu__v))))           \
        pcpu__this_cpu_slow(PCPU__OP_ADD, (void *)pcpu__p, bits / 8,           \
                            (uint64_t)PCPU__U(bits, pcpu__v), 0)

#define pcpu_this_sub(ptr, val) pcpu_this_add((ptr), -(val))
#define pcpu_this_inc(ptr) pcpu_this_add((ptr), 1)
#define pcpu_this_dec(ptr) pcpu_this_add((ptr), -1)

/* this_cpu add_return: returns the new value of the current CPU's copy. */
#define pcpu_this_add_return(ptr, val)                                         \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__v = (__typeof__(*pcpu__p))(val);            \
        uint64_t pcpu__r = 0;                                                  \
        PCPU__SIZE_SWITCH(pcpu__p, PCPU__ADD_RETURN_CASE)                      \
        (__typeof__(*pcpu__p))pcpu__r;                                         \
    })
#define PCPU__ADD_RETURN_CASE(bits)                                            \
    {                                                                          \
        uint##bits##_t pcpu__o;                                                \
        if (PCPU_LIKELY(!pcpu_arch_add_return_##bits(                          \
                (void *)pcpu__p, PCPU__U(bits, pcpu__v), &pcpu__o)))           \
            pcpu__r = pcpu__o;                                                 \
        else                                                                   \
            pcpu__r = pcpu__this_cpu_slow(PCPU__OP_ADD_RETURN, (void *)pcpu__p,\
                                          bits / 8,                            \
                                          (uint64_t)PCPU__U(bits, pcpu__v), 0);\
    }

/* this_cpu xchg: stores val, returns the previous value. */
#define pcpu_this_xchg(ptr, val)                                               \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__v = (val);                                  \
        uint64_t pcpu__r = 0;                                                  \
        PCPU__SIZE_SWITCH(pcpu__p, PCPU__XCHG_CASE)                            \
        (__typeof__(*pcpu__p))pcpu__r;                                         \
    })
#define PCPU__XCHG_CASE(bits)                                                  \
    {                                                                          \
        uint##bits##_t pcpu__o;                                                \
        if (PCPU_LIKELY(!pcpu_arch_xchg_##bits((void *)pcpu__p,                \
                                               PCPU__U(bits, pcpu__v),         \
                                               &pcpu__o)))                     \
            pcpu__r = pcpu__o;                                                 \
        else                                                                   \
            pcpu__r = pcpu__this_cpu_slow(PCPU__OP_XCHG, (void *)pcpu__p,      \
                                          bits / 8,                            \
                                          (uint64_t)PCPU__U(bits, pcpu__v), 0);\
    }

/* this_cpu cmpxchg: if the copy equals old, store new; returns the value seen. */
#define pcpu_this_cmpxchg(ptr, oval, nval)                                     \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__ov = (oval);                                \
        __typeof__(*pcpu__p) pcpu__nv = (nval);                                \
        uint64_t pcpu__r = 0;                                                  \
        PCPU__SIZE_SWITCH(pcpu__p, PCPU__CMPXCHG_CASE)                         \
        (__typeof__(*pcpu__p))pcpu__r;                                         \
    })
#define PCPU__CMPXCHG_CASE(bits)                                               \
    {                                                                          \
        uint##bits##_t pcpu__o;                                                \
        if (PCPU_LIKELY(!pcpu_arch_cmpxchg_##bits(                             \
                (void *)pcpu__p, PCPU__U(bits, pcpu__ov),                      \
                PCPU__U(bits, pcpu__nv), &pcpu__o)))                           \
            pcpu__r = pcpu__o;                                                 \
        else                                                                   \
            pcpu__r = pcpu__this_cpu_slow(                                     \
                PCPU__OP_CMPXCHG, (void *)pcpu__p, bits / 8,                   \
                (uint64_t)PCPU__U(bits, pcpu__ov),                             \
                (uint64_t)PCPU__U(bits, pcpu__nv));                            \
    }

/* this_cpu write: store val into the current CPU's copy. */
#define pcpu_this_write(ptr, val)                                              \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__v = (val);                                  \
        PCPU__SIZE_SWITCH(pcpu__p, PCPU__WRITE_CASE)                           \
        (void)0;                                                               \
    })
#define PCPU__WRITE_CASE(bits)                                                 \
    if (PCPU_UNLIKELY(pcpu_arch_write_##bits((void *)pcpu__p,                  \
                                             PCPU__U(bits, pcpu__v))))         \
        pcpu__this_cpu_slow(PCPU__OP_WRITE, (void *)pcpu__p, bits / 8,         \
                            (uint64_t)PCPU__U(bits, pcpu__v), 0)

/* this_cpu read: a load from the current CPU's copy (any CPU's copy is a
 * valid answer once the thread may have migrated, as in the kernel). */
#define pcpu_this_read(ptr)                                                    \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        int pcpu__cpu = pcpu_arch_current_cpu();                               \
        if (PCPU_UNLIKELY(pcpu__cpu < 0))                                      \
            pcpu__cpu = pcpu_current_cpu();                                    \
        __atomic_load_n(pcpu_ptr(pcpu__p, pcpu__cpu), __ATOMIC_RELAXED);       \
    })

/* Sum of an integer per-CPU object over every possible CPU (relaxed loads). */
#define pcpu_sum(ptr)                                                          \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p + 0) pcpu__s = 0;                                  \
        unsigned int pcpu__n = pcpu_nr_cpus();                                 \
        for (unsigned int pcpu__c = 0; pcpu__c < pcpu__n; pcpu__c++)           \
            pcpu__s += __atomic_load_n(pcpu_ptr(pcpu__p, pcpu__c),             \
                                       __ATOMIC_RELAXED);                      \
        pcpu__s;                                                               \
    })

#endif /* PERCPU_PERCPU_H */
