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

/* Section names of a per-CPU block, in canonical order (the kernel's PERCPU_INPUT). */
#define PCPU_SECTION_FIRST          ".data..percpu..first"
#define PCPU_SECTION_PAGE_ALIGNED   ".data..percpu..page_aligned"
#define PCPU_SECTION_READ_MOSTLY    ".data..percpu..read_mostly"
#define PCPU_SECTION                ".data..percpu"
#define PCPU_SECTION_SHARED_ALIGNED ".data..percpu..shared_aligned"

/*
 * Symbols.  A per-CPU variable's ELF symbol is its C name, as in the kernel
 * since 2.6.34.  What makes it per-CPU is where it is defined (a per-CPU
 * section), how it is exported (EXPORT_PER_CPU_SYMBOL records the kind) and,
 * for a reference to a variable defined elsewhere, the declaration record
 * that DECLARE_PER_CPU leaves in the object (section PCPU_DECL_SECTION: one
 * NUL-terminated declarator per record, "hits" or "buf[64]", whose leading
 * identifier is the symbol).  The loader and `percpu-elfpatch check` read the
 * records to tell a per-CPU reference from an ordinary one.
 *
 * Objects of the 2006 convention (and of this project before the change)
 * named per-CPU variables PCPU_LEGACY_SYMBOL_PREFIX "name"; such names are
 * still accepted on input everywhere.
 */
#define PCPU_DECL_SECTION ".percpu_decl"
#define PCPU_LEGACY_SYMBOL_PREFIX "per_cpu__"

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

/*
 * A shared object's own copy of pcpu_unit_offset[], bounded: code compiled
 * with PERCPU_SHARED_OBJECT defined (percpu_add_library() and
 * `pkg-config --cflags percpu-library` define it) reads its fast paths'
 * unit offsets from the first PCPU_LIBRARY_UNIT_ENTRIES entries, a hidden
 * table of the object's start-up object (library.cc) at a link-time address,
 * with no GOT load; a CPU numbered past them takes the slow path.  8 KiB
 * instead of the whole table's 64 KiB in every such object: a dlopen() maps
 * (and a dlclose() unmaps) what the kernel's fault-around brings in, about
 * 4 us for 64 KiB here.  Without the macro the fast paths read
 * pcpu_unit_offset[] itself (through the GOT in -fPIC code): correct
 * anywhere, a load more.
 */
#define PCPU_LIBRARY_UNIT_ENTRIES 1024
#ifdef PERCPU_SHARED_OBJECT
extern uintptr_t pcpu__library_unit_offset[PCPU_LIBRARY_UNIT_ENTRIES] __attribute__((visibility("hidden")));
#define PCPU__FAST_UNIT_TABLE pcpu__library_unit_offset
#define PCPU__FAST_UNIT_LIMIT 1024 /* PCPU_LIBRARY_UNIT_ENTRIES, as assembler text */
#else
#define PCPU__FAST_UNIT_TABLE pcpu_unit_offset
#endif

/* Units sit at one power-of-two stride, so pcpu_unit_offset[n] is
 * pcpu__unit_base + (n << pcpu__unit_shift): the rseq fast paths compute it
 * with a shift instead of a dependent load.  Internal; set with the table. */
extern uintptr_t pcpu__unit_base;
extern unsigned long pcpu__unit_shift;

/* Number of units (possible CPUs) once initialised; 0 before.  Internal: use
 * pcpu_nr_cpus(). */
extern unsigned int pcpu__nr_units;

/* Thread-pointer offset of the rseq area the fast paths read, or 0 when the
 * fast paths are not usable (not initialised, or the atomic fallback is in
 * use).  Internal: read by the inline this_cpu operations only. */
extern long pcpu__rseq_offset;

/* This thread's copy of pcpu__rseq_offset: what the this_cpu fast paths
 * read.  0 sends them to the slow path: in a thread that has not run one
 * yet (the slow path prepares the thread and sets it), and while the thread
 * holds a CPU with pcpu_get_cpu(), where the held CPU's copy is the one to
 * update, wherever the thread runs.  Internal. */
extern __thread long pcpu__thread_rseq_offset __attribute__((tls_model("initial-exec")));

/* The CPU this thread holds with pcpu_get_cpu(), plus one; 0 when it holds
 * none.  Internal: read by the inline pcpu_this_ptr() and local_unlock(). */
extern __thread int pcpu__thread_held_cpu __attribute__((tls_model("initial-exec")));

/* The same offset when the area also carries rseq's mm_cid (a concurrency
 * id: Linux >= 6.3), else 0.  Internal: read by the pool fast paths. */
extern long pcpu__cid_rseq_offset;

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

/* Whether CPU `cpu` is present (/sys/devices/system/cpu/present; simulated
 * CPUs beyond the machine's, PERCPU_NR_CPUS, are possible but not present). */
int pcpu_cpu_present(unsigned int cpu);

/* Re-read /sys/devices/system/cpu/online and .../present (CPU hotplug).
 * RETURNS 0 or -1. */
int pcpu_refresh_online(void);

/*
 * CPU masks kept by the runtime, PCPU_MAX_CPUS bits each (bit n of word n/64
 * is CPU n), read with relaxed atomic loads: possible (every unit), online
 * and present (updated by pcpu_refresh_online()).  Filled by pcpu_init().
 */
struct pcpu_cpumask {
    uint64_t bits[PCPU_MAX_CPUS / 64];
};
extern struct pcpu_cpumask pcpu__possible_mask, pcpu__online_mask, pcpu__present_mask;

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

/*
 * pcpu_ptr(ptr, cpu): CPU `cpu`'s copy of the per-CPU object at canonical
 * pointer `ptr`.  The result has the type of `&*ptr`, as the kernel's
 * per_cpu_ptr(): a pointer stays its own type, an array decays to a pointer
 * to its first element, and a pointer to an array (`&buf` of
 * `DEFINE_PER_CPU(char, buf[64])`) stays a pointer to the array.
 */
#ifdef __cplusplus
#define pcpu_ptr(ptr, cpu) pcpu__shift((ptr), pcpu_unit_offset[(cpu)])
#else
#define pcpu_ptr(ptr, cpu) \
    ((__typeof__(&*(ptr)))((uintptr_t)(ptr) + pcpu_unit_offset[(cpu)]))
#endif

/* The calling thread's current CPU's copy (may be stale on return, unless
 * the thread holds the CPU with pcpu_get_cpu()). */
#ifdef __cplusplus
#define pcpu_this_ptr(ptr) pcpu__shift((ptr), pcpu__this_unit())
#else
#define pcpu_this_ptr(ptr) ((__typeof__(&*(ptr)))((uintptr_t)(ptr) + pcpu__this_unit()))
#endif

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
    size_t committed_per_unit;    /* bytes handed out at least once, per unit (pages) */
    size_t committed_bytes;       /* committed_per_unit * nr_units */
    size_t reserved_bytes;        /* address space reserved for units */
    enum pcpu_cpu_source cpu_source;
    unsigned int cow_units;       /* units whose static block is the shared image until
                                     written (copy-on-write); the others hold a copy */
    size_t metadata_bytes;        /* the allocator's own memory (resident) */
};

/* Fill *st.  RETURNS 0, or -1 with errno (EINVAL: st is NULL). MT-safe. */
int pcpu_get_stats(struct pcpu_stats *st);

/*
 * pcpu_for_each_block() - the per-CPU space by owner.
 *
 * Calls fn once for each block: the program's static block, each shared
 * object's (by path, see "Per-CPU variables in shared objects"), each
 * module's (by the name the loader gave it), then one record for all
 * dynamic allocations (pcpu_alloc, alloc_percpu, pools) together.  Each
 * record gives the block's canonical address, its offset from the start of
 * its unit (the same in every unit) and its size per CPU.  Stops at the
 * first nonzero return of fn and returns it; else 0.  fn must not load or
 * unload anything.  MT-safe.
 */
enum pcpu_block_owner {
    PCPU_BLOCK_PROGRAM = 0,
    PCPU_BLOCK_SHARED_OBJECT,
    PCPU_BLOCK_MODULE,
    PCPU_BLOCK_DYNAMIC
};
struct pcpu_block_info {
    enum pcpu_block_owner owner;
    const char *name;     /* program or shared object path, module name; "dynamic" */
    void *canonical;      /* NULL for the dynamic total */
    size_t offset;        /* offset in its unit (0 for the dynamic total) */
    size_t size;          /* bytes per CPU */
    size_t count;         /* 1, or the number of dynamic allocations */
};
int pcpu_for_each_block(int (*fn)(const struct pcpu_block_info *info, void *arg), void *arg);

/* ---- Exclusive use of one CPU's copies ------------------------------------ */

/*
 * pcpu_get_cpu() / pcpu_put_cpu() - the user-space stand-in for the kernel's
 * preempt_disable()/preempt_enable() around get_cpu_var().
 *
 * User space cannot disable preemption.  pcpu_get_cpu() takes the current
 * CPU's lock and holds that CPU for the calling thread until the matching
 * pcpu_put_cpu().  Until then:
 *  - pcpu_current_cpu() (smp_processor_id()), pcpu_this_ptr() (this_cpu_ptr())
 *    and the this_cpu operations of this thread all name the CPU returned,
 *    wherever the scheduler moves the thread.  Its this_cpu operations take
 *    the slow path, which updates the held CPU's copy in an rseq section
 *    that commits only while the thread runs on that CPU, so they stay exact
 *    against the other threads that the kernel runs there meanwhile.  When
 *    the thread has been moved away, such an operation moves it back (its
 *    affinity mask becomes that one CPU until pcpu_put_cpu() restores it);
 *  - no other thread holding the same CPU through pcpu_get_cpu() (get_cpu(),
 *    get_cpu_var(), get_cpu_ptr(), preempt_disable(), local_lock()) runs the
 *    section at the same time: plain read-modify-writes of that CPU's copies
 *    inside such sections do not race each other.
 * It does not exclude this_cpu operations of other threads on the same data
 * (the kernel's preempt_disable would: plain `x++` on a copy that other
 * threads update with this_cpu_inc() can lose updates).  Nests in one thread
 * (the first CPU is kept).  The thread must not change its own affinity in
 * between.  An uncontended hold makes no system call unless the thread was
 * moved and then used a this_cpu operation; when the kernel refuses that
 * move back (a seccomp filter, say), the operation is an atomic one on the
 * held CPU's copy: exact against other holders and atomics, not against
 * rseq operations of threads running there.
 * RETURNS: the CPU number.  MT-safe.
 */
int pcpu_get_cpu(void);
void pcpu_put_cpu(void);

/* The CPU the thread holds through pcpu_get_cpu(), or -1. */
int pcpu_held_cpu(void);

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
/* pcpu_module_block_fill() sets every CPU's copy of the block's first `size`
 * bytes to `image` (the module's initial values).  The block's whole pages
 * become copy-on-write mappings of one image, shared until a CPU writes them
 * (unless PERCPU_COW=0); freeing gives them fresh zero pages.  RETURNS 0, or
 * -1 with errno EINVAL (not a live module block of at least `size` bytes). */
int pcpu_module_block_fill(void *canonical, const void *image, size_t size);

/* pcpu_module_block_name() - names a module block for pcpu_for_each_block()
 * (the loader passes the module's path).  The name is copied; the block's
 * free forgets it.  RETURNS 0, or -1 with errno (ENOMEM). */
int pcpu_module_block_name(void *canonical, const char *name);

/* pcpu_set_module_describer() - how the guard (PERCPU_GUARD=1) names a
 * module's per-CPU variable or code: `fn(addr, buf, len)` writes what `addr`
 * is (a module's per-CPU variable, or a place in its code) into buf and
 * returns nonzero, or returns 0 when no module holds addr.  It runs in the
 * fault handler of a dying process: it must not take locks.  The loader sets
 * it; NULL removes it.  MT-safe. */
typedef int (*pcpu_module_describer)(uintptr_t addr, char *buf, size_t len);
void pcpu_set_module_describer(pcpu_module_describer fn);

/* ---- Exports (read by the module loader) ------------------------------------ */

enum pcpu_export_kind { PCPU_EXPORT_PLAIN = 0, PCPU_EXPORT_PER_CPU = 1 };

/* One record of the export table (section "percpu_exports"). */
struct pcpu_export {
    const char *name;   /* ELF symbol name (the C name, per-CPU variables too) */
    const void *addr;   /* canonical address */
    uint32_t kind;      /* enum pcpu_export_kind */
    uint32_t gpl_only;  /* EXPORT_*_GPL */
};

/* The host's export record for `name`, or NULL.  MT-safe. */
const struct pcpu_export *pcpu_host_export(const char *name);

/*
 * pcpu_canonical() - the canonical address of a shared object's per-CPU
 * variable, from the address its image holds.
 *
 * A shared library or plugin built with percpu_add_library() keeps its
 * per-CPU variables' initial values in a template inside its image; when it
 * is loaded, the runtime gives them a block in the per-CPU space and moves
 * every address the dynamic linker wrote to it.  dlsym() does not go through
 * that: for a per-CPU variable it returns the template's address (which
 * faults once the block exists).  Pass it here to get the canonical address,
 * then per_cpu_ptr() for a CPU's copy:
 *     long *c = pcpu_canonical(dlsym(handle, "hits"));
 *     long *mine = per_cpu_ptr(c, 0);
 * Any other address (already canonical, or not per-CPU) comes back as given.
 * MT-safe.
 */
void *pcpu_canonical(const void *addr);

/*
 * Internal: how a program or a shared object built for per-CPU data tells
 * the runtime where its block and its export table are.  The program's
 * start-up object (percpu_add_host, or libpercpu.a) and a shared object's
 * (percpu_add_library) fill one from their linker fragment's symbols and
 * pass it from .preinit_array and from a constructor; the runtime keeps the
 * pointer while the object is loaded.  Not for direct use.
 */
#define PCPU__IMAGE_VERSION 2 /* 2: unit_offset_entries; 1 had PCPU_MAX_CPUS */
struct pcpu__image {
    uint32_t version;                   /* PCPU__IMAGE_VERSION */
    uint32_t align;                     /* a shared object's: its variables' largest
                                           alignment (0: unknown, a page) */
    char *start, *end;                  /* __per_cpu_start, __per_cpu_end */
    char *page_end;                     /* __per_cpu_page_end */
    char *canon_start, *canon_end;      /* the program's NOLOAD reservation */
    char *image_start, *image_end;      /* __ehdr_start, _end */
    const struct pcpu_export *exports_start, *exports_stop;
    void *block;                        /* set by the runtime: the object's block */
    /* A shared object's own copies of what its inline fast paths read (NULL
     * in the program's): filled at registration, so that -fPIC code reaches
     * them at link-time addresses instead of through its GOT. */
    uintptr_t *unit_offset;             /* unit_offset_entries entries */
    uintptr_t *unit_base;
    unsigned long *unit_shift;
    unsigned int *nr_units;
    long *rseq_offset;
    long *cid_rseq_offset;
    uint32_t unit_offset_entries;       /* version 2 */
};
void pcpu__start_program(const struct pcpu__image *image, char **envp);
void pcpu__program_running(void);
int pcpu__register_shared(struct pcpu__image *image);
void pcpu__unregister_shared(struct pcpu__image *image);
/* A shared object's module_init returned `ret`; `where` is an address in
 * that object.  (The message is the runtime's, so that the start-up object
 * linked into every library imports nothing but the runtime and abort().) */
void pcpu__library_init_failed(const void *where, int ret);

#define PCPU__EXPORT(sym, symname, kind, gpl)                                  \
    __attribute__((used, section("percpu_exports"), aligned(8)))              \
    struct pcpu_export pcpu__export_##sym = {(symname), (const void *)&(sym), \
                                             (kind), (gpl)}

#define PCPU_EXPORT_SYMBOL(sym) PCPU__EXPORT(sym, #sym, PCPU_EXPORT_PLAIN, 0)
#define PCPU_EXPORT_SYMBOL_GPL(sym) PCPU__EXPORT(sym, #sym, PCPU_EXPORT_PLAIN, 1)
#define PCPU_EXPORT_PER_CPU_SYMBOL(var) \
    PCPU__EXPORT(var, #var, PCPU_EXPORT_PER_CPU, 0)
#define PCPU_EXPORT_PER_CPU_SYMBOL_GPL(var) \
    PCPU__EXPORT(var, #var, PCPU_EXPORT_PER_CPU, 1)

/* ---- Definitions ------------------------------------------------------------ */

/*
 * PCPU_DEFINE_SECTION(type, name, section_suffix): defines `name` (an
 * identifier, or an array declarator such as `buf[64]`) in the per-CPU
 * section PCPU_SECTION section_suffix.  Its ELF symbol is its C name.
 * Attributes may follow, as in the kernel:
 *     DEFINE_PER_CPU(char, buf[64]) __aligned(64);
 *
 * The initial value must be a constant (always true in C).  In C++ a dynamic
 * initialiser (a constructor, a non-constexpr function call) runs after the
 * units were filled from the image, so it would only change the canonical
 * template, never a CPU's copy.  (`constinit` cannot be forced here: Clang
 * rejects it on class types defined without an initialiser.)
 *
 * PCPU_DECLARE_SECTION(type, name, section_suffix) declares it and leaves a
 * declaration record (see PCPU_DECL_SECTION) in the object: a file-scope
 * basic asm statement, so it works for array declarators (the preprocessor
 * can stringify `buf[64]` but not strip the `[64]`; the reader takes the
 * leading identifier).  The record is a few bytes in a non-allocated
 * section: it costs nothing at run time.
 */
#define PCPU_DEFINE_SECTION(type, name, suffix)                                \
    __attribute__((section(PCPU_SECTION suffix))) __typeof__(type) name
#define PCPU_DECLARE_SECTION(type, name, suffix)                               \
    PCPU_DECL_RECORD(name)                                                     \
    extern __attribute__((section(PCPU_SECTION suffix))) __typeof__(type) name

/* A declaration record for `name` (see PCPU_DECL_SECTION), on its own: for
 * code that declares a per-CPU variable by hand. */
#define PCPU_DECL_RECORD(name)                                                 \
    __asm__(".pushsection " PCPU_DECL_SECTION ", \"\"\n\t"                      \
            ".asciz \"" #name "\"\n\t"                                        \
            ".popsection");

/* ---- this_cpu operations ------------------------------------------------------ */

/* Slow paths (out of line): initialisation, per-thread rseq registration, the
 * atomic fallback.  `op` is one of PCPU__OP_*; returns the op's result. */
enum {
    PCPU__OP_ADD = 0,
    PCPU__OP_ADD_RETURN,
    PCPU__OP_XCHG,
    PCPU__OP_CMPXCHG,
    PCPU__OP_WRITE,
    PCPU__OP_READ,
    PCPU__OP_AND,
    PCPU__OP_OR
};
uint64_t pcpu__this_cpu_slow(int op, void *ptr, unsigned int size, uint64_t v,
                             uint64_t v2);

/* 16-byte objects (this_cpu_cmpxchg128). */
__extension__ typedef unsigned __int128 pcpu_u128;
pcpu_u128 pcpu__this_cpu_slow128(void *ptr, pcpu_u128 expected, pcpu_u128 desired);

#ifdef __cplusplus
}

/* pcpu_ptr() for C++, where `&*p` is ill-formed for `void *`. */
template <typename T>
static inline T *pcpu__shift(T *p, uintptr_t off)
{
    return reinterpret_cast<T *>(reinterpret_cast<uintptr_t>(p) + off);
}
#endif

#include <percpu/arch.h>

/* pcpu_current_cpu(), inline: the held CPU (pcpu_get_cpu()), else the one in
 * the thread's rseq area, else the function's answer. */
static inline int pcpu__this_cpu(void)
{
    int held = __atomic_load_n(&pcpu__thread_held_cpu, __ATOMIC_RELAXED);
    if (PCPU_UNLIKELY(held != 0))
        return held - 1;
    int cpu = pcpu_arch_current_cpu();
    return PCPU_LIKELY(cpu >= 0) ? cpu : pcpu_current_cpu();
}

/* The unit offset of pcpu__this_cpu(): from the fast paths' table when it
 * has the CPU (see PCPU_LIBRARY_UNIT_ENTRIES). */
static inline uintptr_t pcpu__this_unit(void)
{
    int cpu = pcpu__this_cpu();
#ifdef PCPU__FAST_UNIT_LIMIT
    if (PCPU_LIKELY((unsigned int)cpu < PCPU__FAST_UNIT_LIMIT))
        return PCPU__FAST_UNIT_TABLE[cpu];
#endif
    return pcpu_unit_offset[cpu];
}

/* Internal: dispatch on operand size, as the kernel's __pcpu_size_call. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 4)
extern void pcpu__bad_size(void)
    __attribute__((error("this_cpu operation on an object that is not 1, 2, 4 or 8 bytes")));
extern void pcpu__bad_size128(void)
    __attribute__((error("this_cpu_cmpxchg128 on an object that is not 16 bytes")));
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

/* As in the kernel, the operand is converted to the object's type before it
 * is negated: this_cpu_sub(u64_var, (unsigned int)1) subtracts 1, not
 * adds 0xffffffff. */
#define pcpu_this_sub(ptr, val) pcpu_this_add((ptr), -(__typeof__(*(ptr)))(val))
#define pcpu_this_inc(ptr) pcpu_this_add((ptr), 1)
#define pcpu_this_dec(ptr) pcpu_this_add((ptr), -1)

/* this_cpu and/or: *(current CPU's copy of p) &= v / |= v. */
#define pcpu_this_and(ptr, val) pcpu__this_bitop((ptr), (val), and, PCPU__OP_AND)
#define pcpu_this_or(ptr, val) pcpu__this_bitop((ptr), (val), or, PCPU__OP_OR)
#define pcpu__this_bitop(ptr, val, name, OP)                                   \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        __typeof__(*pcpu__p) pcpu__v = (__typeof__(*pcpu__p))(val);            \
        switch (sizeof(*pcpu__p)) {                                            \
        case 1: PCPU__BITOP_CASE(name, OP, 8); break;                          \
        case 2: PCPU__BITOP_CASE(name, OP, 16); break;                         \
        case 4: PCPU__BITOP_CASE(name, OP, 32); break;                         \
        case 8: PCPU__BITOP_CASE(name, OP, 64); break;                         \
        default: pcpu__bad_size();                                             \
        }                                                                      \
        (void)0;                                                               \
    })
#define PCPU__BITOP_CASE(name, OP, bits)                                       \
    if (PCPU_UNLIKELY(pcpu_arch_##name##_##bits((void *)pcpu__p,               \
                                                PCPU__U(bits, pcpu__v))))      \
        pcpu__this_cpu_slow(OP, (void *)pcpu__p, bits / 8,                     \
                            (uint64_t)PCPU__U(bits, pcpu__v), 0)

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

/* this_cpu sub_return/inc_return/dec_return: the new value. */
#define pcpu_this_sub_return(ptr, val)                                         \
    pcpu_this_add_return((ptr), -(__typeof__(*(ptr)))(val))
#define pcpu_this_inc_return(ptr) pcpu_this_add_return((ptr), 1)
#define pcpu_this_dec_return(ptr) pcpu_this_add_return((ptr), -1)

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

/* this_cpu try_cmpxchg: if the copy equals *ovalp, store nval and return 1;
 * otherwise write the value seen to *ovalp and return 0. */
#define pcpu_this_try_cmpxchg(ptr, ovalp, nval)                                \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__tp = (ptr);                                      \
        __typeof__(&*(ovalp)) pcpu__top = (ovalp);                             \
        __typeof__(*pcpu__tp) pcpu__to = *pcpu__top;                           \
        __typeof__(*pcpu__tp) pcpu__tr =                                       \
            pcpu_this_cmpxchg(pcpu__tp, pcpu__to, (nval));                     \
        int pcpu__tok = pcpu__tr == pcpu__to;                                  \
        if (!pcpu__tok)                                                        \
            *pcpu__top = pcpu__tr;                                             \
        pcpu__tok;                                                             \
    })

/*
 * this_cpu cmpxchg128 on a 16-byte, 16-byte aligned object (pcpu_u128): the
 * commit is one instruction that writes all 16 bytes (x86-64: cmpxchg16b
 * without the lock prefix; AArch64: stp), see <percpu/arch.h>.  Returns the
 * value seen.
 */
#define pcpu_this_cmpxchg128(ptr, oval, nval)                                  \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__p = (ptr);                                       \
        pcpu_u128 pcpu__ov = (pcpu_u128)(oval), pcpu__nv = (pcpu_u128)(nval);  \
        pcpu_u128 pcpu__o;                                                     \
        if (sizeof(*pcpu__p) != 16)                                            \
            pcpu__bad_size128();                                               \
        if (PCPU_UNLIKELY(pcpu_arch_cmpxchg_128((void *)pcpu__p, pcpu__ov,     \
                                                pcpu__nv, &pcpu__o)))          \
            pcpu__o = pcpu__this_cpu_slow128((void *)pcpu__p, pcpu__ov,        \
                                             pcpu__nv);                        \
        (__typeof__(*pcpu__p))pcpu__o;                                         \
    })
#define pcpu_this_try_cmpxchg128(ptr, ovalp, nval)                             \
    __extension__({                                                            \
        __typeof__(ptr) pcpu__tp = (ptr);                                      \
        __typeof__(&*(ovalp)) pcpu__top = (ovalp);                             \
        pcpu_u128 pcpu__to = (pcpu_u128)*pcpu__top;                            \
        pcpu_u128 pcpu__tr = pcpu_this_cmpxchg128(pcpu__tp, pcpu__to, (nval)); \
        int pcpu__tok = pcpu__tr == pcpu__to;                                  \
        if (!pcpu__tok)                                                        \
            *pcpu__top = pcpu__tr;                                             \
        pcpu__tok;                                                             \
    })

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

/* Pools indexed by CPU or by concurrency id (mm_cid). */
#include <percpu/pool.h>

#endif /* PERCPU_PERCPU_H */
