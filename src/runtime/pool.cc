// Pools of fixed-size objects with one copy per unit (<percpu/pool.h>).
//
//   region:  | canonical range | unit 0 | unit 1 | ... | unit n-1 |
//            ^ pcpu__canon      each 1 << pcpu__shift bytes
//   copy of object p in unit u = p + ((u + 1) << shift)
//
// The canonical range is reserved PROT_NONE and never made accessible, so a
// stray dereference of a pool pointer faults instead of reading a unit.  The
// units are mapped read-write without reservation: a page costs memory only
// once some thread writes it, which is what makes an mm_cid pool cheap (only
// the units of ids that ran are ever written).  A bitmap with a bit per
// object is the whole allocator (1 bit of metadata per object), lock-free:
// an allocation sets the lowest clear bit it finds from a hint (one
// compare-and-exchange; objects stay dense, so only the pages of the lowest
// objects are ever touched), a free clears its bit (one atomic AND, whose
// old value tells a double free).  Freed objects are cleared in every unit
// first, writing only copies that are not already zero (reading an untouched
// page maps the shared zero page; writing it would commit a page in every
// unit).
#include "runtime.h"

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <sched.h>
#include <sys/mman.h>
#if defined(__x86_64__) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h> // CPU_FEATURE_ACTIVE (glibc 2.33)
#endif

namespace percpu::rt {
namespace {

constexpr size_t kPage = PCPU_PAGE_BYTES;
constexpr size_t kMaxUnitBytes = size_t{1} << 30;

struct Pool {
    pcpu_pool pub;               // first: the public header
    unsigned nrUnits = 0;
    size_t itemSize = 0;         // rounded up to 8
    uint64_t itemMagic = 0;      // 2^64 / itemSize rounded up: division without div
    size_t maxItems = 0;
    size_t stride = 0;
    void *map = nullptr;
    size_t mapBytes = 0;
    size_t words = 0;            // of the bitmap
    std::atomic<size_t> hint{0}; // no clear bit below this word, mostly (a hint)
    uint64_t *live = nullptr;    // one bit per item; bits past maxItems stay set
};

// Metadata: the live bitmap.
size_t metaBytesFor(size_t maxItems) { return (maxItems + 63) / 64 * 8; }

// Offsets in the canonical range are below 2^30 (a unit's bound), so
// quotient and remainder by the item size come from one multiplication each
// (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019:
// exact for 32-bit numerators and divisors), where a 64-bit div costs tens
// of cycles on every free.
uint64_t divisionMagic(size_t d) { return UINT64_MAX / d + 1; }
uint64_t quotient(uint64_t magic, uint32_t n)
{
    return static_cast<uint64_t>((static_cast<unsigned __int128>(magic) * n) >> 64);
}
uint64_t remainder(uint64_t magic, uint32_t n, size_t d)
{
    const uint64_t low = magic * n;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(low) * d) >> 64);
}

Pool *fromPublic(const pcpu_pool *p) { return const_cast<Pool *>(reinterpret_cast<const Pool *>(p)); }

// Whether the n bytes at q (a multiple of 8: items are) are zero: W-byte
// vectors OR-ed 4W bytes at a time, with one test per 256 bytes (a copy that
// was written is usually nonzero early; one that was not is read whole),
// then the 8-byte tail.  Every free reads each unit's copy this way: it is
// most of the cost of pcpu_pool_free() for objects past 64 bytes.
typedef uint64_t V16 __attribute__((vector_size(16)));
typedef uint64_t V32 __attribute__((vector_size(32)));

// The 8-byte words of n bytes at q, OR-ed.
__attribute__((always_inline)) inline uint64_t orWords(const unsigned char *q, size_t n)
{
    uint64_t any = 0;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w;
        memcpy(&w, q + i, 8);
        any |= w;
    }
    return any;
}

template <typename V>
__attribute__((always_inline)) inline bool zeroCopyWith(const unsigned char *q, size_t n)
{
    constexpr size_t W = sizeof(V);
    size_t i = 0;
    V any = {};
    auto folded = [&any] {
        uint64_t f = 0;
        for (size_t k = 0; k < W / 8; k++)
            f |= any[k];
        return f;
    };
    while (i + 4 * W <= n) {
        const size_t block = i + 256 <= n ? i + 256 : n - (n - i) % (4 * W);
        for (; i < block; i += 4 * W) {
            V a, b, c, d;
            memcpy(&a, q + i, W);
            memcpy(&b, q + i + W, W);
            memcpy(&c, q + i + 2 * W, W);
            memcpy(&d, q + i + 3 * W, W);
            any |= (a | b) | (c | d);
        }
        if (folded())
            return false;
    }
    for (; i + W <= n; i += W) {
        V a;
        memcpy(&a, q + i, W);
        any |= a;
    }
    return (folded() | orWords(q + i, n - i)) == 0;
}

#if defined(__x86_64__)
// 32-byte loads where the CPU has AVX2, SSE2's 16 otherwise.
__attribute__((target("avx2"), noinline)) bool zeroCopyAvx2(const unsigned char *q, size_t n)
{
    return zeroCopyWith<V32>(q, n);
}
// Asked of glibc, which read cpuid once in ld.so (usable AVX2: the OS saves
// the registers too).  Not __builtin_cpu_supports: it
// links libgcc's __cpu_indicator_init, a constructor that runs some twenty
// cpuid instructions in every process that loads the runtime, each a trap
// to the hypervisor in a VM (a tenth of a small program's start-up there).
// Asked once (pool_free calls this for every unit) and kept in a plain
// global: a function-local static's guard would make the runtime need
// libstdc++.  Racing first callers store the same answer.
constinit std::atomic<int> avx2State{0}; // 0 not asked, 1 no, 2 yes
bool haveAvx2()
{
    int state = avx2State.load(std::memory_order_relaxed);
    if (__builtin_expect(state == 0, 0)) {
#if __has_include(<sys/platform/x86.h>)
        state = CPU_FEATURE_ACTIVE(AVX2) ? 2 : 1;
#else
        state = __builtin_cpu_supports("avx2") ? 2 : 1;
#endif
        avx2State.store(state, std::memory_order_relaxed);
    }
    return state == 2;
}
#endif

bool zeroCopy(const unsigned char *q, size_t n)
{
    if (n < 64)
        return orWords(q, n) == 0;
#if defined(__x86_64__)
    if (haveAvx2())
        return zeroCopyAvx2(q, n);
#endif
    return zeroCopyWith<V16>(q, n);
}

} // namespace
} // namespace percpu::rt

using namespace percpu::rt;

extern "C" {

struct pcpu_pool *pcpu_pool_create(int index, size_t item_size, size_t max_items)
{
    initialize();
    if ((index != PCPU_POOL_CPU && index != PCPU_POOL_MM_CID) || item_size == 0 || max_items == 0 ||
        item_size > kMaxUnitBytes || max_items > UINT32_MAX) {
        errno = EINVAL;
        return nullptr;
    }
    size_t isz = (item_size + 7) & ~size_t{7};
    if (max_items > kMaxUnitBytes / isz) {
        errno = EINVAL;
        return nullptr;
    }
    size_t bytes = (isz * max_items + kPage - 1) & ~(kPage - 1);
    size_t stride = std::bit_ceil(bytes);
    unsigned units = index == PCPU_POOL_CPU ? pcpu_nr_cpus() : realCpuCount();
    size_t mapBytes = stride * (size_t{units} + 1);
    void *mem = mmap(nullptr, sizeof(Pool), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return nullptr;
    Pool *pool = new (mem) Pool();
    // Over-reserve by one stride to align the region to it (units then
    // start on a stride boundary, huge-page friendly for big pools).
    void *res = mmap(nullptr, mapBytes + stride, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    size_t metaBytes = metaBytesFor(max_items);
    void *meta = res == MAP_FAILED ? MAP_FAILED
                                   : mmap(nullptr, metaBytes, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED || meta == MAP_FAILED) {
        int e = errno;
        if (res != MAP_FAILED)
            munmap(res, mapBytes + stride);
        munmap(mem, sizeof(Pool));
        errno = e == EINVAL ? ENOMEM : e;
        return nullptr;
    }
    uintptr_t base = (reinterpret_cast<uintptr_t>(res) + stride - 1) & ~(stride - 1);
    // Trim the alignment slack so that only the region stays reserved.
    size_t head = base - reinterpret_cast<uintptr_t>(res);
    if (head)
        munmap(res, head);
    if (stride - head)
        munmap(reinterpret_cast<void *>(base + mapBytes), stride - head);
    if (mprotect(reinterpret_cast<void *>(base + stride), mapBytes - stride, PROT_READ | PROT_WRITE) != 0) {
        int e = errno;
        munmap(reinterpret_cast<void *>(base), mapBytes);
        munmap(meta, metaBytes);
        munmap(mem, sizeof(Pool));
        errno = e;
        return nullptr;
    }
    pool->pub.pcpu__canon = base;
    pool->pub.pcpu__shift = static_cast<unsigned long>(std::countr_zero(stride));
    pool->pub.pcpu__index = index;
    pool->nrUnits = units;
    pool->itemSize = isz;
    pool->itemMagic = divisionMagic(isz);
    pool->maxItems = max_items;
    pool->stride = stride;
    pool->map = reinterpret_cast<void *>(base);
    pool->mapBytes = mapBytes;
    pool->live = static_cast<uint64_t *>(meta);
    pool->words = (max_items + 63) / 64;
    if (max_items % 64) // the last word's bits past the end: never free
        pool->live[pool->words - 1] = ~uint64_t{0} << (max_items % 64);
    return &pool->pub;
}

void pcpu_pool_destroy(struct pcpu_pool *p)
{
    if (!p)
        return;
    Pool *pool = fromPublic(p);
    munmap(pool->map, pool->mapBytes);
    munmap(pool->live, metaBytesFor(pool->maxItems));
    pool->~Pool();
    munmap(pool, sizeof(Pool));
}

// The lowest clear bit from the hint to the end, then from the start (the
// hint is only a hint: two frees racing to lower it may leave it high).
// RETURNS: see <percpu/pool.h>.
void *pcpu_pool_alloc(struct pcpu_pool *p)
{
    Pool *pool = fromPublic(p);
    const size_t start = pool->hint.load(std::memory_order_relaxed);
    for (size_t k = 0; k < pool->words; k++) {
        const size_t w = start + k < pool->words ? start + k : start + k - pool->words;
        uint64_t word = __atomic_load_n(&pool->live[w], __ATOMIC_RELAXED);
        while (~word) {
            const uint64_t bit = ~word & (word + 1); // the lowest clear bit
            if (__atomic_compare_exchange_n(&pool->live[w], &word, word | bit, false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
                if (w != start)
                    pool->hint.store(w, std::memory_order_relaxed);
                const size_t item = w * 64 + static_cast<size_t>(std::countr_zero(bit));
                return reinterpret_cast<void *>(pool->pub.pcpu__canon + item * pool->itemSize);
            }
        }
    }
    errno = ENOMEM;
    return nullptr;
}

// The copies are cleared first, then the bit: once it is clear, another
// thread may have the object.  Clearing before the check harms nothing a
// correct program does: an object that is not live was freed or never handed
// out, and is zero (nothing is written), unless another thread has it again,
// which no allocator can tell from a free of it.
// RETURNS: see <percpu/pool.h>.
int pcpu_pool_free(struct pcpu_pool *p, void *ptr)
{
    Pool *pool = fromPublic(p);
    uintptr_t a = reinterpret_cast<uintptr_t>(ptr);
    uintptr_t canon = pool->pub.pcpu__canon;
    const char *why = nullptr;
    size_t item = 0;
    if (a < canon || a >= canon + pool->itemSize * pool->maxItems)
        why = "not an object of this pool";
    else if (remainder(pool->itemMagic, static_cast<uint32_t>(a - canon), pool->itemSize))
        why = "points inside an object, not at its start";
    else {
        item = quotient(pool->itemMagic, static_cast<uint32_t>(a - canon));
        for (unsigned u = 0; u < pool->nrUnits; u++) {
            auto *q = reinterpret_cast<unsigned char *>(a + ((uintptr_t{u} + 1) << pool->pub.pcpu__shift));
            if (!zeroCopy(q, pool->itemSize))
                memset(q, 0, pool->itemSize);
        }
        const uint64_t bit = uint64_t{1} << (item % 64);
        if (!(__atomic_fetch_and(&pool->live[item / 64], ~bit, __ATOMIC_RELEASE) & bit))
            why = "not allocated (double free?)";
        else if (item / 64 < pool->hint.load(std::memory_order_relaxed))
            pool->hint.store(item / 64, std::memory_order_relaxed);
    }
    if (why) {
        fprintf(stderr, "percpu: pcpu_pool_free(%p): %s\n", ptr, why);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

unsigned int pcpu_pool_nr_units(const struct pcpu_pool *p) { return fromPublic(p)->nrUnits; }

int pcpu_pool_fast(const struct pcpu_pool *p)
{
#if PCPU_ARCH_POOL_FAST
    long off = p->pcpu__index == PCPU_POOL_MM_CID ? __atomic_load_n(&pcpu__cid_rseq_offset, __ATOMIC_ACQUIRE)
                                                   : __atomic_load_n(&pcpu__rseq_offset, __ATOMIC_ACQUIRE);
    return off != 0;
#else
    (void)p;
    return 0;
#endif
}

uint64_t pcpu__pool_slow(const struct pcpu_pool *p, int op, void *ptr, unsigned int size, uint64_t v,
                         uint64_t v2)
{
    Pool *pool = fromPublic(p);
#if PCPU_ARCH_POOL_FAST
    if (pcpu_pool_fast(p) && prepareRseqThread()) {
        // This thread's area is usable now: retry the fast path.
        uint64_t r = 0;
        int busy = 1;
        uintptr_t base = PCPU__POOL_BASE(p, ptr);
        unsigned long sh = p->pcpu__shift;
        bool cid = p->pcpu__index == PCPU_POOL_MM_CID;
#define PCPU_POOL_OP(B)                                                                          \
    case B / 8: {                                                                                \
        uint##B##_t o = 0;                                                                       \
        auto x = static_cast<uint##B##_t>(v), y = static_cast<uint##B##_t>(v2);                  \
        switch (op) {                                                                            \
        case PCPU__OP_ADD:                                                                       \
            busy = cid ? pcpu_arch_pool_cid_add_##B(base, sh, x) : pcpu_arch_pool_cpu_add_##B(base, sh, x); \
            break;                                                                               \
        case PCPU__OP_WRITE:                                                                     \
            busy = cid ? pcpu_arch_pool_cid_write_##B(base, sh, x)                               \
                       : pcpu_arch_pool_cpu_write_##B(base, sh, x);                              \
            break;                                                                               \
        case PCPU__OP_ADD_RETURN:                                                                \
            busy = cid ? pcpu_arch_pool_cid_add_return_##B(base, sh, x, &o)                      \
                       : pcpu_arch_pool_cpu_add_return_##B(base, sh, x, &o);                     \
            break;                                                                               \
        case PCPU__OP_XCHG:                                                                      \
            busy = cid ? pcpu_arch_pool_cid_xchg_##B(base, sh, x, &o)                            \
                       : pcpu_arch_pool_cpu_xchg_##B(base, sh, x, &o);                           \
            break;                                                                               \
        default:                                                                                 \
            busy = cid ? pcpu_arch_pool_cid_cmpxchg_##B(base, sh, x, y, &o)                      \
                       : pcpu_arch_pool_cpu_cmpxchg_##B(base, sh, x, y, &o);                     \
            break;                                                                               \
        }                                                                                        \
        r = o;                                                                                   \
        break;                                                                                   \
    }
        switch (size) {
            PCPU_POOL_OP(8)
            PCPU_POOL_OP(16)
            PCPU_POOL_OP(32)
            PCPU_POOL_OP(64)
        }
#undef PCPU_POOL_OP
        if (!busy)
            return r;
        // Still unusable (a cid or cpu_id the kernel did not set): fall through
        // to the atomic path, which is correct on any unit.
    }
#endif
    // The atomic fallback: the current CPU's unit (any unit would be correct:
    // every access through this path is atomic, and the fast path is never
    // used concurrently with it, since its availability is process-wide).
    int cpu = sched_getcpu();
    if (cpu < 0 || static_cast<unsigned>(cpu) >= pool->nrUnits)
        cpu = 0;
    void *q = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(ptr) +
                                       ((static_cast<uintptr_t>(cpu) + 1) << p->pcpu__shift));
    return atomicOpAt(op, q, size, v, v2);
}

} // extern "C"

PCPU_EXPORT_SYMBOL(pcpu_pool_create);
PCPU_EXPORT_SYMBOL(pcpu_pool_destroy);
PCPU_EXPORT_SYMBOL(pcpu_pool_alloc);
PCPU_EXPORT_SYMBOL(pcpu_pool_free);
PCPU_EXPORT_SYMBOL(pcpu_pool_nr_units);
PCPU_EXPORT_SYMBOL(pcpu_pool_fast);
PCPU_EXPORT_SYMBOL(pcpu__pool_slow);
