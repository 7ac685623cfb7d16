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
// the units of ids that ran are ever written).  Objects are handed out from
// a free stack of indices (O(1)); a bitmap says which are live, so that a
// bad pcpu_pool_free() is reported instead of corrupting the stack.  Freed
// objects are cleared in every unit, writing only copies that are not
// already zero (reading an untouched page maps the shared zero page; writing
// it would commit a page in every unit).
#include "runtime.h"
#include "lock.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <sched.h>
#include <sys/mman.h>

namespace percpu::rt {
namespace {

constexpr size_t kPage = PCPU_PAGE_BYTES;
constexpr size_t kMaxUnitBytes = size_t{1} << 30;

struct Pool {
    pcpu_pool pub;               // first: the public header
    unsigned nrUnits = 0;
    size_t itemSize = 0;         // rounded up to 8
    size_t maxItems = 0;
    size_t stride = 0;
    void *map = nullptr;
    size_t mapBytes = 0;
    FutexLock lock;
    size_t bumped = 0;           // items ever handed out from the top
    uint32_t *freeStack = nullptr;
    size_t freeCount = 0;
    uint64_t *live = nullptr;    // one bit per item
};

// Metadata: the free stack (4 bytes an item), then the live bitmap, 8-aligned.
size_t stackBytes(size_t maxItems) { return (size_t{4} * maxItems + 7) & ~size_t{7}; }
size_t metaBytesFor(size_t maxItems) { return stackBytes(maxItems) + (maxItems + 63) / 64 * 8; }

Pool *fromPublic(const pcpu_pool *p) { return const_cast<Pool *>(reinterpret_cast<const Pool *>(p)); }

// Whether the n bytes at q are zero: words OR-ed 64 bytes at a time (no
// branch per byte; the loads overlap), then the tail.
bool zeroCopy(const unsigned char *q, size_t n)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint64_t any = 0;
        for (size_t k = 0; k < 64; k += 8) {
            uint64_t w;
            memcpy(&w, q + i + k, 8);
            any |= w;
        }
        if (any)
            return false;
    }
    uint64_t any = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, q + i, 8);
        any |= w;
    }
    for (; i < n; i++)
        any |= q[i];
    return any == 0;
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
    pool->maxItems = max_items;
    pool->stride = stride;
    pool->map = reinterpret_cast<void *>(base);
    pool->mapBytes = mapBytes;
    pool->freeStack = static_cast<uint32_t *>(meta);
    pool->live = reinterpret_cast<uint64_t *>(static_cast<char *>(meta) + stackBytes(max_items));
    return &pool->pub;
}

void pcpu_pool_destroy(struct pcpu_pool *p)
{
    if (!p)
        return;
    Pool *pool = fromPublic(p);
    munmap(pool->map, pool->mapBytes);
    munmap(pool->freeStack, metaBytesFor(pool->maxItems));
    pool->~Pool();
    munmap(pool, sizeof(Pool));
}

// CONTEXT: takes pool->lock.  RETURNS: see <percpu/pool.h>.
void *pcpu_pool_alloc(struct pcpu_pool *p)
{
    Pool *pool = fromPublic(p);
    size_t item;
    {
        LockGuard g(pool->lock);
        if (pool->freeCount)
            item = pool->freeStack[--pool->freeCount];
        else if (pool->bumped < pool->maxItems)
            item = pool->bumped++;
        else {
            errno = ENOMEM;
            return nullptr;
        }
        pool->live[item / 64] |= uint64_t{1} << (item % 64);
    }
    return reinterpret_cast<void *>(pool->pub.pcpu__canon + item * pool->itemSize);
}

// CONTEXT: takes pool->lock twice: to check and unmark the object, then,
// after clearing its copies unlocked, to push it on the free stack.
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
    else if ((a - canon) % pool->itemSize)
        why = "points inside an object, not at its start";
    else {
        item = (a - canon) / pool->itemSize;
        LockGuard g(pool->lock);
        if (!(pool->live[item / 64] & (uint64_t{1} << (item % 64))))
            why = "not allocated (double free?)";
        else
            pool->live[item / 64] &= ~(uint64_t{1} << (item % 64));
    }
    if (why) {
        fprintf(stderr, "percpu: pcpu_pool_free(%p): %s\n", ptr, why);
        errno = EINVAL;
        return -1;
    }
    // The object is no longer live: no operation may touch it now, so its
    // copies can be cleared before it goes back on the stack.
    for (unsigned u = 0; u < pool->nrUnits; u++) {
        auto *q = reinterpret_cast<unsigned char *>(a + ((uintptr_t{u} + 1) << pool->pub.pcpu__shift));
        if (!zeroCopy(q, pool->itemSize))
            memset(q, 0, pool->itemSize);
    }
    LockGuard g(pool->lock);
    pool->freeStack[pool->freeCount++] = static_cast<uint32_t>(item);
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
