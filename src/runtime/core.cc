// libpercpu start-up, CPU numbers and the out-of-line paths.  What the
// machine's CPUs are (sysfs) is cpus.cc's.
//
// Start-up order: pcpu_init() runs from .preinit_array, which the dynamic
// loader (or, in a static program, __libc_start_main) runs before the
// constructors of every shared library and of the program.  This object is
// always linked in (it defines pcpu_unit_offset, which every access uses), so
// its .preinit_array entry is always present.  Everything it touches before
// then is constant-initialised (constinit): no constructor of ours has to run
// first.
//
// CPU number sources, in order of preference (README, "Current CPU"):
//   1. glibc's rseq area (glibc >= 2.35 registers one per thread): the fast
//      paths read %fs:__rseq_offset.
//   2. our own rseq area, a static-TLS struct registered lazily per thread
//      (the first this_cpu operation of a thread takes the slow path, which
//      registers it); used when glibc did not register (for example
//      GLIBC_TUNABLES=glibc.pthread.rseq=0).
//   3. sched_getcpu(), with this_cpu operations done as atomics on the chosen
//      CPU's copy (PERCPU_RSEQ=0, or when rseq is unavailable: old kernels,
//      valgrind, seccomp).
// The choice is made once for the process: mixing rseq read-modify-writes
// with atomics from other threads on the same copy would not be atomic.
#include "runtime.h"
#include "lock.h"
#include "percpu/percpu_counter.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cstddef>
#include <fcntl.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27 /* Linux 6.3 */
#endif

extern "C" {
constinit uintptr_t pcpu_unit_offset[PCPU_MAX_CPUS] = {};
constinit uintptr_t pcpu__unit_base = 0;
constinit unsigned long pcpu__unit_shift = 0;
constinit unsigned int pcpu__nr_units = 0;
constinit long pcpu__rseq_offset = 0;
constinit __thread long pcpu__thread_rseq_offset __attribute__((tls_model("initial-exec"))) = 0;
constinit __thread int pcpu__thread_held_cpu __attribute__((tls_model("initial-exec"))) = 0;
constinit long pcpu__cid_rseq_offset = 0;
constinit struct pcpu_cpumask pcpu__possible_mask = {};
constinit struct pcpu_cpumask pcpu__online_mask = {};
constinit struct pcpu_cpumask pcpu__present_mask = {};

}

// The program's per-CPU block and export table come from its start-up
// object (program.cc: the percpu.ld fragment's symbols), which passes them
// to pcpu__start_program() from .preinit_array.  In libpercpu.a that object
// is part of the archive and pulled in from here; libpercpu.so.0 cannot hold
// it (a shared object has no .preinit_array, and its __per_cpu_start would be
// its own): percpu_add_host() links it into the program.  A program without
// it (one that only links libraries with per-CPU data) gets an empty static
// block, anchored on a page of the runtime's own (see defaultImage()).
#ifndef PCPU_SHARED_RUNTIME
extern "C" const struct pcpu__image pcpu__program_image __attribute__((visibility("hidden")));
#endif
// The runtime's own export records (the entry points inline code in modules
// references): in libpercpu.a they are part of the program's table.
extern "C" const struct pcpu_export __start_percpu_exports[] __attribute__((weak, visibility("hidden")));
extern "C" const struct pcpu_export __stop_percpu_exports[] __attribute__((weak, visibility("hidden")));
#ifdef PCPU_SHARED_RUNTIME
extern "C" char pcpu__anchor_space[percpu::rt::kAnchorBytes] __attribute__((visibility("hidden")));
extern "C" char __ehdr_start[] __attribute__((weak, visibility("hidden")));
extern "C" char _end[] __attribute__((weak, visibility("hidden")));
#endif

namespace percpu::rt {
bool badFreeAborts();
extern char **preinitEnv;

namespace {

[[noreturn]] void fatal(const char *func, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fatal(const char *func, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "percpu: %s: %s\n", func, msg);
    abort();
}

// Our rseq area: initial-exec TLS in the executable, so its offset from the
// thread pointer is the same in every thread.  struct rseq as the kernel
// defines it (glibc's header stops at flags): node_id and mm_cid (Linux 6.3)
// follow.  mm_cid starts negative, as cpu_id does, so that the mm_cid fast
// paths of a thread that has not registered yet take the slow path (which
// registers) instead of reading a zero that the kernel never wrote.
struct alignas(32) OwnRseq {
    uint32_t cpu_id_start;
    uint32_t cpu_id;
    uint64_t rseq_cs;
    uint32_t flags;
    uint32_t node_id;
    uint32_t mm_cid;
    uint32_t padding;
};
static_assert(sizeof(OwnRseq) == 32 && offsetof(OwnRseq, mm_cid) == PCPU_RSEQ_MM_CID_OFFSET &&
              offsetof(OwnRseq, cpu_id) == PCPU_RSEQ_CPU_ID_OFFSET &&
              offsetof(OwnRseq, rseq_cs) == PCPU_RSEQ_CS_OFFSET);
constinit thread_local OwnRseq ownRseq __attribute__((tls_model("initial-exec"))) = {
    .cpu_id_start = 0,
    .cpu_id = static_cast<uint32_t>(RSEQ_CPU_ID_UNINITIALIZED),
    .rseq_cs = 0,
    .flags = 0,
    .node_id = 0,
    .mm_cid = UINT32_MAX,
    .padding = 0,
};

// What pcpu_get_cpu() holds on this thread: the CPU, the nesting depth, the
// thread's fast-path offset to give back, and, once a this_cpu operation
// found the thread away from the held CPU and moved it back, the affinity
// mask to restore (valid when `pinned`).
struct CpuLockState {
    int cpu = -1;
    unsigned depth = 0;
    bool pinned = false;
    bool pinRefused = false;
    long savedOffset = 0;
};
// Initial exec, as ownRseq: a hold costs no __tls_get_addr call.  Kept small
// (static TLS is scarce when the runtime comes with a dlopen()ed object); the
// mask, 1 KiB and used only when a holder had migrated, stays dynamic.
constinit thread_local CpuLockState cpuLockState __attribute__((tls_model("initial-exec")));
constinit thread_local uint64_t heldSavedMask[PCPU_MAX_CPUS / 64] = {};

struct Runtime {
    FutexLock initLock;
    std::atomic<int> state{0}; // 0 not yet, 1 ready, -1 failed
    int initErrno = 0;
    std::atomic<int> source{PCPU_CPU_SOURCE_NONE};
    unsigned nrUnits = 0;
    unsigned realCpus = 0;
    FutexLock onlineLock;
    bool multiNode = false;
    signed char node[PCPU_MAX_CPUS] = {}; // read only when multiNode: after the rest
    // One cache line per CPU's lock: holders on different CPUs do not
    // share a line (pages of CPUs never held are never touched).
    struct alignas(64) CpuLock {
        FutexLock lock;
    };
    CpuLock cpuLocks[PCPU_MAX_CPUS];
};
constinit Runtime rt;

// Online and present CPUs, clipped to the units.  Returns -1 when a file
// could not be read (then every real CPU counts).  Present lies between
// online and possible, so when every possible CPU is online (most machines)
// it is known without reading its file.
// CONTEXT: takes rt.onlineLock (the masks are written under it, read
// without it).
int storeCpuMasks()
{
    constexpr size_t kWords = PCPU_MAX_CPUS / 64;
    uint64_t online[kWords], present[kWords];
    int r = readOnlineCpus(online, rt.realCpus);
    if (maskIsAllBelow(online, rt.realCpus))
        std::memcpy(present, online, sizeof(present));
    else
        r |= readCpuList("/sys/devices/system/cpu/present", present, rt.realCpus);
    LockGuard guard(rt.onlineLock);
    for (size_t i = 0; i < kWords; ++i) {
        const uint64_t keep = maskWordBelow(rt.nrUnits, i);
        __atomic_store_n(&pcpu__online_mask.bits[i], online[i] & keep, __ATOMIC_RELAXED);
        __atomic_store_n(&pcpu__present_mask.bits[i], present[i] & keep, __ATOMIC_RELAXED);
    }
    return r;
}

void readNodes() { rt.multiNode = readCpuNodes(rt.node, rt.realCpus); }

// Reads an unsigned size from the environment: -1 when malformed.
long long envSize(const char *name, bool &present)
{
    const char *v = envGet(name);
    present = v && *v;
    if (!present)
        return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || end == v)
        return -1;
    switch (*end) {
    case 'k': case 'K': x <<= 10; ++end; break;
    case 'm': case 'M': x <<= 20; ++end; break;
    case 'g': case 'G': x <<= 30; ++end; break;
    default: break;
    }
    if (*end || x > (1ull << 40))
        return -1;
    return static_cast<long long>(x);
}

size_t roundPow2(size_t x)
{
    size_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

bool registerOwnRseq()
{
    if (static_cast<int32_t>(ownRseq.cpu_id) >= 0)
        return true;
    long r = syscall(SYS_rseq, &ownRseq, sizeof(ownRseq), 0, PCPU_RSEQ_SIG);
    if (r != 0) {
        ownRseq.cpu_id = static_cast<uint32_t>(RSEQ_CPU_ID_REGISTRATION_FAILED);
        return false;
    }
    return true;
}

long ownRseqOffset()
{
    return reinterpret_cast<intptr_t>(&ownRseq) - pcpu_arch_thread_pointer();
}

int32_t rseqCpuAt(long off)
{
    return __atomic_load_n(
        reinterpret_cast<const int32_t *>(pcpu_arch_thread_pointer() + off + PCPU_RSEQ_CPU_ID_OFFSET),
        __ATOMIC_RELAXED);
}

void chooseCpuSource()
{
    const char *e = envGet("PERCPU_RSEQ");
    bool rseqAllowed = !(e && !strcmp(e, "0"));
    int source = PCPU_CPU_SOURCE_GETCPU;
    long off = 0;
    if (rseqAllowed) {
        if (__rseq_size > 0 && rseqCpuAt(__rseq_offset) >= 0) {
            source = PCPU_CPU_SOURCE_GLIBC_RSEQ;
            off = __rseq_offset;
        } else if (__rseq_size == 0 && registerOwnRseq()) {
            source = PCPU_CPU_SOURCE_OWN_RSEQ;
            off = ownRseqOffset();
        }
    }
    // mm_cid (offset 24) is there when the kernel says its rseq features
    // reach past it and the registered area is that long.  We register 32
    // bytes.  glibc registers 32 bytes too, but reports 20 (2.35-2.39 also
    // 32) in __rseq_size: both mean a 32-byte area (librseq reads them so);
    // other values are the area's feature size.
    long cidOff = 0;
    if (off != 0 && getauxval(AT_RSEQ_FEATURE_SIZE) >= PCPU_RSEQ_MM_CID_OFFSET + 4) {
        unsigned long size = sizeof(ownRseq);
        if (source == PCPU_CPU_SOURCE_GLIBC_RSEQ)
            size = (__rseq_size == 20 || __rseq_size == 32) ? 32 : __rseq_size;
        if (size >= PCPU_RSEQ_MM_CID_OFFSET + 4)
            cidOff = off;
    }
    __atomic_store_n(&pcpu__cid_rseq_offset, cidOff, __ATOMIC_RELEASE);
    __atomic_store_n(&pcpu__rseq_offset, off, __ATOMIC_RELEASE);
    rt.source.store(source, std::memory_order_release);
}

// The program's image, from pcpu__start_program() (nullptr until then).
constinit const pcpu__image *programImage = nullptr;

#ifdef PCPU_SHARED_RUNTIME
// Chunk 0 needs canonical addresses that nothing else uses.  With no
// program block, they are these: address space in the runtime's own .bss
// (no memory: it is made inaccessible at start-up, as the program's
// reservation is), where the blocks of shared objects and the first dynamic
// allocations go, as they go to the program's reservation when it has one.
// The static block is empty and the reservation starts at offset 0: no free
// block's tags to write at start-up, everything is the virgin tail.
// (anchor.cc defines the space, alone: see there.)
constinit const pcpu__image anchorImage = {
    PCPU__IMAGE_VERSION, 0, pcpu__anchor_space, pcpu__anchor_space, pcpu__anchor_space,
    pcpu__anchor_space, pcpu__anchor_space + kAnchorBytes,
    __ehdr_start, _end, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0};
#endif

const pcpu__image &startImage()
{
    if (programImage)
        return *programImage;
#ifdef PCPU_SHARED_RUNTIME
    return anchorImage;
#else
    return pcpu__program_image;
#endif
}

// Start-up proper: CPU discovery, the CPU source, the first chunk, the
// static block in every unit, the guard.
// CONTEXT: rt.initLock held.
// RETURNS: 0, or -1 with errno set (rt.state becomes -1).
int initLocked()
{
    checkOneRuntime();
    bool present = false;
    long long n = envSize("PERCPU_NR_CPUS", present);
    rt.realCpus = possibleCpus();
    unsigned units = rt.realCpus;
    if (present) {
        if (n <= 0 || n > PCPU_MAX_CPUS) {
            fprintf(stderr, "percpu: PERCPU_NR_CPUS=%s: expected 1..%d\n",
                    envGet("PERCPU_NR_CPUS"), PCPU_MAX_CPUS);
            errno = EINVAL;
            return -1;
        }
        if (static_cast<unsigned>(n) < rt.realCpus)
            fprintf(stderr,
                    "percpu: PERCPU_NR_CPUS=%lld is below the %u possible CPUs; using %u "
                    "(the kernel may run a thread on any of them)\n",
                    n, rt.realCpus, rt.realCpus);
        else
            units = static_cast<unsigned>(n);
    }
    rt.nrUnits = units;
    storeCpuMasks();
    for (unsigned c = 0; c < units; ++c)
        pcpu__possible_mask.bits[c / 64] |= uint64_t{1} << (c % 64);
    readNodes();
    {
        // The kernel's compute_batch_value(): max(32, 2 * online CPUs).
        unsigned online = 0;
        for (unsigned c = 0; c < units; ++c)
            online += static_cast<unsigned>((pcpu__online_mask.bits[c / 64] >> (c % 64)) & 1);
        percpu_counter_batch = static_cast<int>(std::max(32u, 2 * online));
    }

    SpaceConfig cfg;
    cfg.nrUnits = units;
    cfg.realCpus = rt.realCpus;
    const pcpu__image &img = startImage();
    cfg.staticStart = reinterpret_cast<uintptr_t>(img.start);
    cfg.staticSize = static_cast<size_t>(img.end - img.start);
    size_t need = (cfg.staticStart & (PCPU_PAGE_BYTES - 1)) + cfg.staticSize;
    // Default stride: 64 MiB, less when many units would reserve more than
    // 64 GiB; never below 4 MiB nor below twice the static block.
    size_t stride = size_t{64} << 20;
    while (stride > (size_t{4} << 20) && stride * units > (size_t{64} << 30))
        stride >>= 1;
    stride = std::max(stride, roundPow2(2 * need));
    long long s = envSize("PERCPU_STRIDE", present);
    if (present) {
        if (s < (16 << 10) || s > (1ll << 30) || (s & (s - 1)) ||
            static_cast<size_t>(s) < need) {
            fprintf(stderr,
                    "percpu: PERCPU_STRIDE=%s: expected a power of two from 16K to 1G, at "
                    "least the static block (%zu bytes)\n",
                    envGet("PERCPU_STRIDE"), need);
            errno = EINVAL;
            return -1;
        }
        stride = static_cast<size_t>(s);
    }
    cfg.stride = stride;
    cfg.templateEnd = reinterpret_cast<uintptr_t>(img.page_end);
    cfg.reserveStart = reinterpret_cast<uintptr_t>(img.canon_start);
    cfg.reserveEnd = reinterpret_cast<uintptr_t>(img.canon_end);
    cfg.imageStart = reinterpret_cast<uintptr_t>(img.image_start);
    cfg.imageEnd = reinterpret_cast<uintptr_t>(img.image_end);
    cfg.recordSites = guardEnabled();
    if (spaceInit(cfg) != 0)
        return -1;
    guardInit();
    chooseCpuSource();
    return 0;
}

// The slow path of a this_cpu operation when rseq is in use but this thread's
// area is not ready: register it (own area) and report whether to retry.
bool prepareThreadRseqArea()
{
    int source = rt.source.load(std::memory_order_acquire);
    if (source == PCPU_CPU_SOURCE_OWN_RSEQ) {
        if (registerOwnRseq())
            return true;
        fatal(__func__, "rseq registration failed on this thread (errno %d) while other "
                        "threads use rseq; cannot update per-CPU data safely",
              errno);
    }
    if (source == PCPU_CPU_SOURCE_GLIBC_RSEQ) {
        // A slow path taken before start-up ran (code of a program without
        // its start-up object, or a constructor that runs before it) finds
        // the area usable: nothing is wrong.
        if (rseqCpuAt(__rseq_offset) >= 0)
            return true;
        fatal(__func__, "glibc's rseq area reports cpu_id %d on this thread while other "
                        "threads use rseq; cannot update per-CPU data safely",
              rseqCpuAt(__rseq_offset));
    }
    return false;
}

// The area, and the thread's fast-path offset (unless the thread holds a
// CPU: its fast paths stay off until pcpu_put_cpu()).
bool prepareThreadRseq()
{
    if (!prepareThreadRseqArea())
        return false;
    if (cpuLockState.depth == 0)
        __atomic_store_n(&pcpu__thread_rseq_offset, __atomic_load_n(&pcpu__rseq_offset, __ATOMIC_ACQUIRE),
                         __ATOMIC_RELAXED);
    return true;
}

uint64_t atomicOp(int op, void *ptr, unsigned size, uint64_t v, uint64_t v2)
{
    int cpu = cpuLockState.depth > 0 ? cpuLockState.cpu : sched_getcpu();
    if (cpu < 0 || static_cast<unsigned>(cpu) >= rt.nrUnits)
        cpu = 0; // correct with atomics, only slower
    void *p = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(ptr) + pcpu_unit_offset[cpu]);
    return atomicOpAt(op, p, size, v, v2);
}

} // namespace

uint64_t atomicOpAt(int op, void *p, unsigned size, uint64_t v, uint64_t v2)
{
#define PCPU_ATOMIC_CASE(T)                                                                     \
    {                                                                                           \
        T *q = static_cast<T *>(p);                                                             \
        switch (op) {                                                                           \
        case PCPU__OP_ADD: __atomic_fetch_add(q, static_cast<T>(v), __ATOMIC_RELAXED); return 0; \
        case PCPU__OP_ADD_RETURN:                                                               \
            return __atomic_add_fetch(q, static_cast<T>(v), __ATOMIC_RELAXED);                  \
        case PCPU__OP_XCHG: return __atomic_exchange_n(q, static_cast<T>(v), __ATOMIC_RELAXED); \
        case PCPU__OP_CMPXCHG: {                                                                \
            T expected = static_cast<T>(v);                                                     \
            __atomic_compare_exchange_n(q, &expected, static_cast<T>(v2), false,                \
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED);                    \
            return expected;                                                                    \
        }                                                                                       \
        case PCPU__OP_WRITE: __atomic_store_n(q, static_cast<T>(v), __ATOMIC_RELAXED); return 0; \
        case PCPU__OP_AND: __atomic_fetch_and(q, static_cast<T>(v), __ATOMIC_RELAXED); return 0; \
        case PCPU__OP_OR: __atomic_fetch_or(q, static_cast<T>(v), __ATOMIC_RELAXED); return 0;   \
        default: return __atomic_load_n(q, __ATOMIC_RELAXED);                                   \
        }                                                                                       \
    }
    switch (size) {
    case 1: PCPU_ATOMIC_CASE(uint8_t)
    case 2: PCPU_ATOMIC_CASE(uint16_t)
    case 4: PCPU_ATOMIC_CASE(uint32_t)
    default: PCPU_ATOMIC_CASE(uint64_t)
    }
#undef PCPU_ATOMIC_CASE
}

namespace {

// Runs one rseq fast path; false when the thread's area is not usable.
template <typename T>
bool rseqOp(int op, void *ptr, uint64_t v, uint64_t v2, uint64_t &result)
{
    T r = 0;
    int busy;
    constexpr int bits = sizeof(T) * 8;
    static_assert(bits == 8 || bits == 16 || bits == 32 || bits == 64);
#define PCPU_DISPATCH(B)                                                                        \
    if constexpr (bits == B) {                                                                  \
        switch (op) {                                                                           \
        case PCPU__OP_ADD: busy = pcpu_arch_add_##B(ptr, static_cast<T>(v)); break;             \
        case PCPU__OP_ADD_RETURN: busy = pcpu_arch_add_return_##B(ptr, static_cast<T>(v), &r); break; \
        case PCPU__OP_XCHG: busy = pcpu_arch_xchg_##B(ptr, static_cast<T>(v), &r); break;       \
        case PCPU__OP_CMPXCHG:                                                                  \
            busy = pcpu_arch_cmpxchg_##B(ptr, static_cast<T>(v), static_cast<T>(v2), &r);       \
            break;                                                                              \
        case PCPU__OP_WRITE: busy = pcpu_arch_write_##B(ptr, static_cast<T>(v)); break;         \
        case PCPU__OP_AND: busy = pcpu_arch_and_##B(ptr, static_cast<T>(v)); break;             \
        case PCPU__OP_OR: busy = pcpu_arch_or_##B(ptr, static_cast<T>(v)); break;               \
        default: {                                                                              \
            int cpu = pcpu_arch_current_cpu();                                                  \
            busy = cpu < 0;                                                                     \
            if (!busy)                                                                          \
                r = __atomic_load_n(reinterpret_cast<T *>(reinterpret_cast<uintptr_t>(ptr) +    \
                                                          pcpu_unit_offset[cpu]),               \
                                    __ATOMIC_RELAXED);                                          \
        }                                                                                       \
        }                                                                                       \
    }
    PCPU_DISPATCH(8)
    PCPU_DISPATCH(16)
    PCPU_DISPATCH(32)
    PCPU_DISPATCH(64)
#undef PCPU_DISPATCH
    result = r;
    return !busy;
}

// CONTEXT: takes rt.initLock when start-up has not run yet (a slow path
// before main(), or a program that skipped .preinit_array).
void ensureInit()
{
    if (__builtin_expect(rt.state.load(std::memory_order_acquire) == 0, 0))
        pcpu_init();
}

} // namespace

void initialize() { ensureInit(); }
bool prepareRseqThread() { return prepareThreadRseq(); }
int rseqCpu()
{
    const long off = __atomic_load_n(&pcpu__rseq_offset, __ATOMIC_RELAXED);
    return off ? rseqCpuAt(off) : -1;
}
unsigned realCpuCount()
{
    ensureInit();
    return rt.realCpus;
}

namespace {

void startProgram(const pcpu__image *image, char **envp)
{
    preinitEnv = envp;
    if (image && image->version >= 1 && image->version <= PCPU__IMAGE_VERSION && !programImage &&
        rt.state.load(std::memory_order_acquire) == 0)
        programImage = image;
    if (pcpu_init() != 0)
        fatal("pcpu_init", "cannot set up per-CPU units: %s", strerror(errno));
}

} // namespace

// The environment as given to .preinit_array functions: glibc sets environ
// only later, when the program's own start-up code runs.
constinit char **preinitEnv = nullptr; // NOLINT: set once, before threads

const char *envGet(const char *name)
{
    if (environ)
        return getenv(name);
    size_t len = strlen(name);
    for (char **e = preinitEnv; e && *e; ++e)
        if (!strncmp(*e, name, len) && (*e)[len] == '=')
            return *e + len + 1;
    return nullptr;
}

int cpuNode(unsigned cpu)
{
    if (!rt.multiNode || cpu >= rt.realCpus)
        return -1;
    return rt.node[cpu];
}

} // namespace percpu::rt

using namespace percpu::rt;

extern "C" {

void pcpu__start_program(const struct pcpu__image *image, char **envp) { startProgram(image, envp); }

// CONTEXT: takes rt.initLock; idempotent.  RETURNS: see <percpu/percpu.h>.
int pcpu_init(void)
{
    int st = rt.state.load(std::memory_order_acquire);
    if (st != 0) {
        if (st < 0)
            errno = rt.initErrno;
        return st > 0 ? 0 : -1;
    }
    LockGuard guard(rt.initLock);
    st = rt.state.load(std::memory_order_relaxed);
    if (st == 0) {
        if (initLocked() == 0) {
            __atomic_store_n(&pcpu__nr_units, rt.nrUnits, __ATOMIC_RELEASE);
            rt.state.store(1, std::memory_order_release);
            st = 1;
        } else {
            rt.initErrno = errno;
            rt.state.store(-1, std::memory_order_release);
            st = -1;
        }
    }
    if (st < 0)
        errno = rt.initErrno;
    return st > 0 ? 0 : -1;
}

unsigned int pcpu__nr_cpus_slow(void)
{
    if (pcpu_init() != 0)
        fatal(__func__, "per-CPU units are not available: %s", strerror(errno));
    return pcpu__nr_units;
}

enum pcpu_cpu_source pcpu_cpu_source(void)
{
    ensureInit();
    return static_cast<enum pcpu_cpu_source>(rt.source.load(std::memory_order_acquire));
}

const char *pcpu_cpu_source_name(enum pcpu_cpu_source source)
{
    switch (source) {
    case PCPU_CPU_SOURCE_GLIBC_RSEQ: return "rseq (glibc)";
    case PCPU_CPU_SOURCE_OWN_RSEQ: return "rseq (libpercpu)";
    case PCPU_CPU_SOURCE_GETCPU: return "sched_getcpu";
    case PCPU_CPU_SOURCE_NONE: break;
    }
    return "none";
}

int pcpu_current_cpu(void)
{
    if (__builtin_expect(cpuLockState.depth > 0, 0))
        return cpuLockState.cpu;
    int cpu = pcpu_arch_current_cpu();
    if (__builtin_expect(cpu < 0, 0)) {
        ensureInit();
        if (prepareThreadRseq())
            cpu = pcpu_arch_current_cpu();
        if (cpu < 0) {
            cpu = sched_getcpu();
            if (cpu < 0)
                cpu = 0;
        }
    }
    if (__builtin_expect(static_cast<unsigned>(cpu) >= pcpu__nr_units, 0) && pcpu__nr_units)
        fatal(__func__, "the kernel reports CPU %d, outside the %u possible CPUs", cpu,
              pcpu__nr_units);
    return cpu;
}

// The slow path's check of its pointer: a canonical address is in some
// chunk's canonical range.  What else reaches here is a per-CPU variable the
// runtime was never told of, whose "copies" would be other memory.
static void checkCanonical(const void *ptr)
{
    if (__builtin_expect(spaceInRange(ptr), 1))
        return;
    fatal("this_cpu operation", "%p is not a per-CPU address: a per-CPU variable of a program "
          "linked without its start-up object and percpu.ld (percpu_add_host()), or of a shared "
          "object not linked with percpu_add_library()", ptr);
}

extern "C++" {
namespace {

// Moves the thread back to the CPU it holds, for the rest of the hold: once
// sched_setaffinity() to that one CPU has returned, the thread runs there
// (unless another thread changes its affinity again: callers check).  The
// mask to restore is the one the thread had at the first move.
void pinToHeldCpu(CpuLockState &s)
{
    if (s.pinRefused)
        return;
    constexpr size_t maskBytes = sizeof(heldSavedMask);
    if (!s.pinned && sched_getaffinity(0, maskBytes, reinterpret_cast<cpu_set_t *>(heldSavedMask)) != 0) {
        s.pinRefused = true;
        return;
    }
    uint64_t one[PCPU_MAX_CPUS / 64] = {};
    one[s.cpu / 64] = uint64_t{1} << (s.cpu % 64);
    if (sched_setaffinity(0, maskBytes, reinterpret_cast<cpu_set_t *>(one)) == 0)
        s.pinned = true;
    else if (!s.pinned)
        s.pinRefused = true;
}

template <typename T>
int cmpxchgOn(void *ptr, uintptr_t unit, T expected, T desired, T &seen)
{
    if constexpr (sizeof(T) == 1)
        return pcpu_arch_cmpxchg_on_8(ptr, unit, expected, desired, &seen);
    else if constexpr (sizeof(T) == 2)
        return pcpu_arch_cmpxchg_on_16(ptr, unit, expected, desired, &seen);
    else if constexpr (sizeof(T) == 4)
        return pcpu_arch_cmpxchg_on_32(ptr, unit, expected, desired, &seen);
    else
        return pcpu_arch_cmpxchg_on_64(ptr, unit, expected, desired, &seen);
}

// A this_cpu operation of a thread that holds a CPU, with rseq in use: on
// the held CPU's copy, wherever the thread runs now.  A compare-and-exchange
// that commits only on that CPU (one rseq section) makes it exact against
// the threads that run there.  Away from it (the thread migrated since
// pcpu_get_cpu()), the thread is moved back for the rest of the hold, and
// again if something else moved it meanwhile: the cost of a hold is paid
// only when the thread was moved.  Where the kernel refuses the move, or the
// thread's rseq area is gone (a thread past its rseq unregistration), an
// atomic operation ends the loop: exact against other holders and atomics.
template <typename T>
uint64_t heldRseqOp(CpuLockState &s, int op, void *ptr, uint64_t v, uint64_t v2)
{
    const uintptr_t unit = pcpu_unit_offset[s.cpu];
    T *copy = reinterpret_cast<T *>(reinterpret_cast<uintptr_t>(ptr) + unit);
    if (op == PCPU__OP_READ)
        return __atomic_load_n(copy, __ATOMIC_RELAXED);
    for (;;) {
        T seen;
        if (op == PCPU__OP_CMPXCHG) {
            if (cmpxchgOn<T>(ptr, unit, static_cast<T>(v), static_cast<T>(v2), seen) == 0)
                return seen;
        } else {
            const T old = __atomic_load_n(copy, __ATOMIC_RELAXED);
            T desired = static_cast<T>(v);
            switch (op) {
            case PCPU__OP_ADD:
            case PCPU__OP_ADD_RETURN: desired = static_cast<T>(old + static_cast<T>(v)); break;
            case PCPU__OP_AND: desired = old & static_cast<T>(v); break;
            case PCPU__OP_OR: desired = old | static_cast<T>(v); break;
            default: break; // write, xchg
            }
            if (cmpxchgOn<T>(ptr, unit, old, desired, seen) == 0) {
                if (seen != old)
                    continue; // another thread on the CPU got in between
                return op == PCPU__OP_ADD_RETURN ? desired : op == PCPU__OP_XCHG ? old : 0;
            }
        }
        if (!s.pinRefused && rseqCpuAt(__atomic_load_n(&pcpu__rseq_offset, __ATOMIC_RELAXED)) >= 0) {
            pinToHeldCpu(s);
            continue;
        }
        return atomicOpAt(op, copy, sizeof(T), v, v2);
    }
}

uint64_t heldOp(CpuLockState &s, int op, void *ptr, unsigned size, uint64_t v, uint64_t v2)
{
    if (!prepareThreadRseqArea())
        return atomicOp(op, ptr, size, v, v2); // every thread uses atomics: exact anywhere
    switch (size) {
    case 1: return heldRseqOp<uint8_t>(s, op, ptr, v, v2);
    case 2: return heldRseqOp<uint16_t>(s, op, ptr, v, v2);
    case 4: return heldRseqOp<uint32_t>(s, op, ptr, v, v2);
    default: return heldRseqOp<uint64_t>(s, op, ptr, v, v2);
    }
}

} // namespace
} // extern "C++"

uint64_t pcpu__this_cpu_slow(int op, void *ptr, unsigned int size, uint64_t v, uint64_t v2)
{
    ensureInit();
    checkCanonical(ptr);
    if (__builtin_expect(cpuLockState.depth > 0, 0))
        return heldOp(cpuLockState, op, ptr, size, v, v2);
    if (prepareThreadRseq()) {
        uint64_t r = 0;
        bool done = false;
        switch (size) {
        case 1: done = rseqOp<uint8_t>(op, ptr, v, v2, r); break;
        case 2: done = rseqOp<uint16_t>(op, ptr, v, v2, r); break;
        case 4: done = rseqOp<uint32_t>(op, ptr, v, v2, r); break;
        default: done = rseqOp<uint64_t>(op, ptr, v, v2, r); break;
        }
        if (done)
            return r;
        fatal(__func__, "rseq area still unusable after registration");
    }
    return atomicOp(op, ptr, size, v, v2);
}

static int maskBit(const pcpu_cpumask &m, unsigned cpu)
{
    return static_cast<int>((__atomic_load_n(&m.bits[cpu / 64], __ATOMIC_RELAXED) >> (cpu % 64)) & 1);
}

pcpu_u128 pcpu__this_cpu_slow128(void *ptr, pcpu_u128 expected, pcpu_u128 desired)
{
    ensureInit();
    checkCanonical(ptr);
    if (CpuLockState &s = cpuLockState; __builtin_expect(s.depth > 0, 0)) {
        // Rare enough to go back to the held CPU at once; there, one atomic
        // instruction is exact against the threads of that CPU.
        if (prepareThreadRseqArea())
            pinToHeldCpu(s);
        void *p = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(ptr) + pcpu_unit_offset[s.cpu]);
        return pcpu_arch_atomic_cmpxchg_128(p, expected, desired);
    }
    if (prepareThreadRseq()) {
        pcpu_u128 old;
        if (pcpu_arch_cmpxchg_128(ptr, expected, desired, &old) == 0)
            return old;
        fatal(__func__, "rseq area still unusable after registration");
    }
    int cpu = sched_getcpu();
    if (cpu < 0 || static_cast<unsigned>(cpu) >= rt.nrUnits)
        cpu = 0;
    void *p = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(ptr) + pcpu_unit_offset[cpu]);
    return pcpu_arch_atomic_cmpxchg_128(p, expected, desired);
}

int pcpu_cpu_online(unsigned int cpu)
{
    ensureInit();
    return cpu < rt.nrUnits ? maskBit(pcpu__online_mask, cpu) : 0;
}

int pcpu_cpu_present(unsigned int cpu)
{
    ensureInit();
    return cpu < rt.nrUnits ? maskBit(pcpu__present_mask, cpu) : 0;
}

unsigned int pcpu_next_online_cpu(int cpu)
{
    ensureInit();
    for (unsigned c = static_cast<unsigned>(cpu + 1); c < rt.nrUnits; ++c)
        if (maskBit(pcpu__online_mask, c))
            return c;
    return rt.nrUnits;
}

// CONTEXT: takes rt.onlineLock.  RETURNS: see <percpu/percpu.h>.
int pcpu_refresh_online(void)
{
    ensureInit();
    int r = storeCpuMasks();
    if (r != 0)
        errno = EIO;
    return r;
}

void *pcpu_alloc(size_t size, size_t align)
{
    if (pcpu_init() != 0)
        return nullptr;
    return spaceAlloc(size, align, Owner::Dynamic,
                      reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
}

int pcpu_free(void *ptr)
{
    if (!ptr)
        return 0;
    if (pcpu_init() != 0)
        return -1;
    char why[256];
    if (spaceFree(ptr, Owner::Dynamic, why, sizeof(why)) == 0)
        return 0;
    int e = errno;
    fprintf(stderr, "percpu: pcpu_free: %s\n", why);
    if (badFreeAborts())
        abort();
    errno = e;
    return -1;
}

int pcpu_get_stats(struct pcpu_stats *st)
{
    if (!st) {
        errno = EINVAL;
        return -1;
    }
    if (pcpu_init() != 0)
        return -1;
    *st = pcpu_stats{};
    spaceStats(st);
    st->cpu_source = static_cast<enum pcpu_cpu_source>(rt.source.load(std::memory_order_acquire));
    return 0;
}

// The CPU the thread runs on, then its lock (which may sleep; the thread may
// move meanwhile, and keeps the CPU it took).  No affinity change: the
// thread's fast-path offset becomes 0, so its this_cpu operations take the
// slow path, which updates the held CPU's copy (heldOp).  A hold with no
// this_cpu operation, or whose thread stays on its CPU, makes no system
// call.
// CONTEXT: takes rt.cpuLocks[cpu] until the matching pcpu_put_cpu (nesting
// counts).  RETURNS: the CPU held.
int pcpu_get_cpu(void)
{
    CpuLockState &s = cpuLockState;
    if (s.depth > 0) {
        s.depth++;
        return s.cpu;
    }
    int cpu = pcpu_arch_current_cpu();
    if (__builtin_expect(cpu < 0, 0))
        cpu = pcpu_current_cpu();
    rt.cpuLocks[cpu].lock.lock();
    s.cpu = cpu;
    s.pinned = false;
    s.pinRefused = false;
    s.savedOffset = __atomic_load_n(&pcpu__thread_rseq_offset, __ATOMIC_RELAXED);
    s.depth = 1;
    __atomic_store_n(&pcpu__thread_rseq_offset, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pcpu__thread_held_cpu, cpu + 1, __ATOMIC_RELAXED);
    return cpu;
}

// CONTEXT: releases rt.cpuLocks[cpu] when the outermost get is put.
void pcpu_put_cpu(void)
{
    CpuLockState &s = cpuLockState;
    if (s.depth == 0)
        fatal(__func__, "pcpu_put_cpu() without a matching pcpu_get_cpu()");
    if (--s.depth > 0)
        return;
    if (__builtin_expect(s.pinned, 0))
        (void)sched_setaffinity(0, sizeof(heldSavedMask), reinterpret_cast<cpu_set_t *>(heldSavedMask));
    s.pinned = false;
    int cpu = s.cpu;
    s.cpu = -1;
    __atomic_store_n(&pcpu__thread_held_cpu, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pcpu__thread_rseq_offset, s.savedOffset, __ATOMIC_RELAXED);
    rt.cpuLocks[cpu].lock.unlock();
}

int pcpu_held_cpu(void)
{
    return cpuLockState.depth > 0 ? cpuLockState.cpu : -1;
}

void *pcpu_module_block_alloc(size_t size, size_t align)
{
    if (pcpu_init() != 0)
        return nullptr;
    return spaceAlloc(size, align, Owner::Module);
}

int pcpu_module_block_fill(void *canonical, const void *image, size_t size)
{
    if (!canonical || (!image && size)) {
        errno = EINVAL;
        return -1;
    }
    return size ? spaceFillImage(canonical, image, size) : 0;
}

int pcpu_module_block_free(void *canonical, int give_pages_back)
{
    if (!canonical)
        return 0;
    forgetBlockName(canonical);
    char why[256];
    if (spaceFree(canonical, Owner::Module, why, sizeof(why), give_pages_back != 0) == 0)
        return 0;
    int e = errno;
    fprintf(stderr, "percpu: pcpu_module_block_free: %s\n", why);
    errno = e;
    return -1;
}

// CONTEXT: takes the registry lock (shared.cc).
int pcpu_for_each_block(int (*fn)(const struct pcpu_block_info *info, void *arg), void *arg)
{
    if (!fn) {
        errno = EINVAL;
        return -1;
    }
    ensureInit();
    const pcpu__image &img = startImage();
#ifdef PCPU_SHARED_RUNTIME
    if (programImage) {
#else
    {
#endif
        char exe[256];
        pcpu_block_info info{PCPU_BLOCK_PROGRAM, programPath(exe, sizeof(exe)), img.start,
                             spaceUnitOffset(img.start), static_cast<size_t>(img.end - img.start), 1};
        if (int r = fn(&info, arg))
            return r;
    }
    if (int r = sharedBlocks(fn, arg))
        return r;
    pcpu_stats st{};
    pcpu_get_stats(&st);
    pcpu_block_info dyn{PCPU_BLOCK_DYNAMIC, "dynamic", nullptr, 0, st.dynamic_bytes, st.dynamic_allocations};
    return fn(&dyn, arg);
}

// The program's table, the runtime's own (the same one in libpercpu.a),
// then the shared objects' (shared.cc), as one table.
const struct pcpu_export *pcpu_host_export(const char *name)
{
    if (!name)
        return nullptr;
    auto find = [name](const pcpu_export *e, const pcpu_export *stop) -> const pcpu_export * {
        for (; e && e < stop; ++e)
            if (e->name && !strcmp(e->name, name))
                return e;
        return nullptr;
    };
    const pcpu__image &img = startImage();
    if (const pcpu_export *e = find(img.exports_start, img.exports_stop))
        return e;
    if (const pcpu_export *e = find(__start_percpu_exports, __stop_percpu_exports))
        return e;
    return sharedExport(name);
}

} // extern "C"

// The runtime's own symbols that inline code in modules references, exported
// so that modules resolve them against the host (they are not in the
// executable's dynamic symbol table).
PCPU_EXPORT_SYMBOL(pcpu_unit_offset);
PCPU_EXPORT_SYMBOL(pcpu__unit_base);
PCPU_EXPORT_SYMBOL(pcpu__unit_shift);
PCPU_EXPORT_SYMBOL(pcpu__nr_units);
PCPU_EXPORT_SYMBOL(pcpu__rseq_offset);
PCPU_EXPORT_SYMBOL(pcpu__cid_rseq_offset);
PCPU_EXPORT_SYMBOL(pcpu__this_cpu_slow);
PCPU_EXPORT_SYMBOL(pcpu__nr_cpus_slow);
PCPU_EXPORT_SYMBOL(pcpu_init);
PCPU_EXPORT_SYMBOL(pcpu_current_cpu);
PCPU_EXPORT_SYMBOL(pcpu_cpu_source);
PCPU_EXPORT_SYMBOL(pcpu_cpu_source_name);
PCPU_EXPORT_SYMBOL(pcpu_cpu_online);
PCPU_EXPORT_SYMBOL(pcpu_next_online_cpu);
PCPU_EXPORT_SYMBOL(pcpu_refresh_online);
PCPU_EXPORT_SYMBOL(pcpu_alloc);
PCPU_EXPORT_SYMBOL(pcpu_free);
PCPU_EXPORT_SYMBOL(pcpu_get_stats);
PCPU_EXPORT_SYMBOL(pcpu_get_cpu);
PCPU_EXPORT_SYMBOL(pcpu_put_cpu);
PCPU_EXPORT_SYMBOL(pcpu_held_cpu);
PCPU_EXPORT_SYMBOL(pcpu_cpu_present);
PCPU_EXPORT_SYMBOL(pcpu__this_cpu_slow128);
PCPU_EXPORT_SYMBOL(pcpu__possible_mask);
PCPU_EXPORT_SYMBOL(pcpu__online_mask);
PCPU_EXPORT_SYMBOL(pcpu__present_mask);
PCPU_EXPORT_SYMBOL(pcpu_host_export);
