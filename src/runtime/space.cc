// The per-CPU address space and its offset allocator.
//
//   chunk c:  base_c                                   base_c + nrUnits*stride
//             | unit 0       | unit 1       | ... | unit nrUnits-1 |
//   canonical address of offset `off` in chunk c:
//             canon_c + off,   canon_c = canon_0 + (base_c - base_0)
//   so that for every chunk   copy(cpu) = canonical + pcpu_unit_offset[cpu],
//             pcpu_unit_offset[cpu] = base_0 + cpu*stride - canon_0.
//
// canon_0 is __per_cpu_start rounded down to a page: the host's static block
// sits at unit offset (__per_cpu_start % page), so every alignment up to a page
// is the same for a canonical address and for each of its copies.
//
// No canonical address is backed by memory, and none is shared with anything
// else in the process: a chunk owns the canonical addresses it hands out.
//  - chunk 0: the template (page-aligned by percpu.ld, made inaccessible once
//    the units hold it) and the fragment's NOLOAD reservation after .bss
//    (__per_cpu_canon_start/end), mapped PROT_NONE.  The offsets in between
//    (canonical addresses of the host's other data) are holes the allocator
//    never hands out.  A host linked with an older fragment has no
//    reservation, and its chunk 0 holds the static block only.
//  - chunk k > 0: one PROT_NONE reservation holds both its canonical range
//    and its units, D = base_0 - canon_0 apart; so chunk 0's units are put
//    close to the image to keep D small (below it, or above a non-PIE
//    image's heap).
// Hence a pointer that is not a live allocation is always told apart
// (pcpu_free() of heap, stack or static memory reports it), and a direct
// dereference of a canonical pointer faults (guard.cc names the variable).
// Under LeakSanitizer, which reads every writable segment of the image, the
// in-image parts stay mapped and are poisoned for ASan instead.
//
// Allocator: offsets inside a chunk are handed out in 8-byte granules by a
// two-level segregated fit allocator (TLSF: Masmano et al., 2004), O(1) for
// allocation and free, with boundary tags kept *outside* the per-CPU memory
// (arrays indexed by granule, reserved and committed lazily), plus exact-size
// quick lists for objects up to 256 bytes (freed objects are reused by the
// next request of the same size without coalescing; the lists are merged back
// when the chunk cannot satisfy a request).  Nothing scans the allocations.
//
// Commit: unit pages start PROT_NONE; when an allocation reaches a page that
// was never used, the page is made read-write in every unit.  Committed pages
// stay committed; freed bytes are zeroed in every unit (pages that were never
// written are only read, which maps the shared zero page).
//
// Synchronisation: one lock (space.lock) protects every chunk's metadata and
// the chunk list; the functions below say CONTEXT: (the lock they need or
// take) and RETURNS:, as mm/percpu.c does.  Chunk records are never freed, so the lock-free readers in
// spaceContains() only see complete chunks (published with release order).
#include "runtime.h"
#include "lock.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace percpu::rt {
namespace {

constexpr size_t kPage = PCPU_PAGE_BYTES;
constexpr size_t kHugePage = 2u << 20;
constexpr uint32_t kGranule = 8;          // bytes
constexpr uint32_t kNil = UINT32_MAX;
constexpr unsigned kSLLog = 3;            // second-level subdivisions: 8
constexpr unsigned kSLCount = 1u << kSLLog;
constexpr unsigned kSizeBits = 28;        // block sizes in granules < 2^28 (2 GiB)
constexpr unsigned kFLCount = kSizeBits - kSLLog + 2;
constexpr uint32_t kQuickMax = 32;        // granules: objects up to 256 bytes
constexpr unsigned kMaxChunks = 4096;

static_assert(PCPU_MAX_ALIGN / kGranule <= (1u << kSizeBits));

// Block header, at the block's first granule: size in granules, and state.
enum class State : uint32_t {
    None = 0,    // not the first granule of a block
    Free = 1,    // in a TLSF free list
    Quick = 2,   // freed, parked in a quick list
    Dynamic = 3, // pcpu_alloc()
    Module = 4,  // a module's per-CPU block
    Static = 5,  // the host's static block
    Hole = 6,    // chunk 0: offsets whose canonical addresses are not ours
};

State stateOf(Owner o)
{
    switch (o) {
    case Owner::Dynamic: return State::Dynamic;
    case Owner::Module: return State::Module;
    case Owner::Static: return State::Static;
    }
    return State::Dynamic;
}

constexpr uint32_t kSizeMask = (1u << kSizeBits) - 1;
inline uint32_t makeHdr(uint32_t n, State s) { return n | (static_cast<uint32_t>(s) << kSizeBits); }
inline uint32_t hdrSize(uint32_t h) { return h & kSizeMask; }
inline State hdrState(uint32_t h) { return static_cast<State>(h >> kSizeBits); }

inline unsigned log2u(uint32_t x) { return 31u - static_cast<unsigned>(std::countl_zero(x)); }

// TLSF mapping.  Sizes below 2^kSLLog granules have exact lists at fl = 0.
inline void mappingInsert(uint32_t n, unsigned &fl, unsigned &sl)
{
    if (n < kSLCount) {
        fl = 0;
        sl = n;
        return;
    }
    unsigned l = log2u(n);
    fl = l - kSLLog + 1;
    sl = (n >> (l - kSLLog)) & (kSLCount - 1);
}

// Rounds n up so that every block in the list found is at least n.
inline void mappingSearch(uint64_t n, unsigned &fl, unsigned &sl)
{
    if (n >= kSLCount) {
        unsigned l = 63u - static_cast<unsigned>(std::countl_zero(n));
        n += (uint64_t{1} << (l - kSLLog)) - 1;
    }
    if (n > kSizeMask) {
        fl = kFLCount; // nothing can satisfy it
        sl = 0;
        return;
    }
    mappingInsert(static_cast<uint32_t>(n), fl, sl);
}

void *mapNoReserve(size_t bytes, int prot)
{
    void *p = mmap(nullptr, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

struct Chunk {
    uintptr_t base = 0;    // unit 0's first byte
    uintptr_t canon = 0;   // canonical address of offset 0
    uintptr_t mapBase = 0; // the reservation as mapped (may precede base)
    size_t mapBytes = 0;
    uint32_t nGran = 0;

    // Metadata indexed by granule (reserved, committed as touched).
    uint32_t *hdr = nullptr;  // block header at a block's first granule
    uint32_t *ftr = nullptr;  // size, at a free block's last granule
    uint32_t *next = nullptr; // free/quick list links, at the first granule
    uint32_t *prev = nullptr;
    size_t metaBytes = 0;

    uint64_t *committed = nullptr; // one bit per page of a unit
    uint64_t *filePages = nullptr; // pages that map a shared image (module blocks)
    uint64_t *freshPages = nullptr; // pages a live module block committed itself: what
                                    // undoing its load (givePagesBack) may give back
    size_t nPages = 0;
    size_t committedPages = 0;

    uint32_t flBitmap = 0;
    uint32_t slBitmap[kFLCount] = {};
    uint32_t heads[kFLCount][kSLCount] = {};
    uint32_t quick[kQuickMax + 1] = {};
    size_t quickGranules = 0;
    size_t freeGranules = 0; // in TLSF lists

    // The canonical addresses this chunk owns: [ownLo[i], ownHi[i]).
    uintptr_t ownLo[2] = {}, ownHi[2] = {};
    uintptr_t *site = nullptr; // by granule: pcpu_alloc()'s caller (guard on)

    uintptr_t unit(unsigned u, size_t stride) const { return base + static_cast<uintptr_t>(u) * stride; }
    bool owns(uintptr_t p) const
    {
        return (p - ownLo[0] < ownHi[0] - ownLo[0]) || (p - ownLo[1] < ownHi[1] - ownLo[1]);
    }
};

struct Space {
    SpaceConfig cfg;
    size_t unitPages = 0;
    FutexLock lock;
    std::atomic<unsigned> nChunks{0};
    Chunk *chunks[kMaxChunks] = {};

    // Accounting (bytes per unit).
    size_t staticBytes = 0;
    unsigned cowUnits = 0;       // units whose static pages map the shared image
    size_t dynamicBytes = 0, dynamicCount = 0;
    size_t moduleBytes = 0, moduleCount = 0;
    size_t usedGranules = 0;
};

constinit Space space;

// ---- free lists ----------------------------------------------------------------

// Puts the free block [g, g + n) at the head of its TLSF list.
// CONTEXT: space.lock held.
void insertFree(Chunk &c, uint32_t g, uint32_t n)
{
    unsigned fl, sl;
    mappingInsert(n, fl, sl);
    c.hdr[g] = makeHdr(n, State::Free);
    c.ftr[g + n - 1] = n;
    uint32_t head = c.heads[fl][sl];
    c.next[g] = head;
    c.prev[g] = kNil;
    if (head != kNil)
        c.prev[head] = g;
    c.heads[fl][sl] = g;
    c.flBitmap |= 1u << fl;
    c.slBitmap[fl] |= 1u << sl;
    c.freeGranules += n;
}

// Takes the free block [g, g + n) out of its TLSF list.
// CONTEXT: space.lock held.
void removeFree(Chunk &c, uint32_t g, uint32_t n)
{
    unsigned fl, sl;
    mappingInsert(n, fl, sl);
    uint32_t nx = c.next[g], pv = c.prev[g];
    if (nx != kNil)
        c.prev[nx] = pv;
    if (pv != kNil)
        c.next[pv] = nx;
    else {
        c.heads[fl][sl] = nx;
        if (nx == kNil) {
            c.slBitmap[fl] &= ~(1u << sl);
            if (c.slBitmap[fl] == 0)
                c.flBitmap &= ~(1u << fl);
        }
    }
    c.freeGranules -= n;
}

// A free block of at least n granules (good fit), not removed from its list.
// CONTEXT: space.lock held.
// RETURNS: its first granule, or kNil when the chunk has none.
uint32_t findFree(const Chunk &c, uint64_t n)
{
    unsigned fl, sl;
    mappingSearch(n, fl, sl);
    if (fl >= kFLCount)
        return kNil;
    uint32_t slMap = c.slBitmap[fl] & (~0u << sl);
    if (!slMap) {
        uint32_t flMap = fl + 1 < 32 ? c.flBitmap & (~0u << (fl + 1)) : 0;
        if (!flMap)
            return kNil;
        fl = static_cast<unsigned>(std::countr_zero(flMap));
        slMap = c.slBitmap[fl];
    }
    sl = static_cast<unsigned>(std::countr_zero(slMap));
    return c.heads[fl][sl];
}

// Returns block g (of n granules, not in any list) to the TLSF lists, merged
// with free neighbours; returns the merged free block as (first, count).
// CONTEXT: space.lock held.
std::pair<uint32_t, uint32_t> releaseBlock(Chunk &c, uint32_t g, uint32_t n)
{
    uint32_t end = g + n;
    if (end < c.nGran) {
        uint32_t h = c.hdr[end];
        if (hdrState(h) == State::Free) {
            uint32_t rn = hdrSize(h);
            removeFree(c, end, rn);
            c.hdr[end] = 0;
            n += rn;
        }
    }
    if (g > 0) {
        // ftr[] may be stale for a non-free left neighbour: trust it only when
        // the header it designates is a free block ending right at g.
        uint32_t ln = c.ftr[g - 1];
        if (ln != 0 && ln <= g) {
            uint32_t lg = g - ln;
            if (c.hdr[lg] == makeHdr(ln, State::Free)) {
                removeFree(c, lg, ln);
                c.hdr[g] = 0;
                g = lg;
                n += ln;
            }
        }
    }
    insertFree(c, g, n);
    return {g, n};
}

// Merges every quick-list block back into the TLSF lists.
// CONTEXT: space.lock held.
void flushQuick(Chunk &c)
{
    for (uint32_t n = 1; n <= kQuickMax; ++n) {
        for (uint32_t g = c.quick[n]; g != kNil;) {
            uint32_t nx = c.next[g];
            c.hdr[g] = makeHdr(n, State::Dynamic); // not free while merging
            releaseBlock(c, g, n);
            g = nx;
        }
        c.quick[n] = kNil;
    }
    c.quickGranules = 0;
}

// ---- commit and zeroing -------------------------------------------------------------

// One bit per page of a unit, in the chunk's page bitmaps.
inline bool testPage(const uint64_t *bits, size_t p) { return (bits[p / 64] >> (p % 64)) & 1; }
inline void setPage(uint64_t *bits, size_t p) { bits[p / 64] |= uint64_t{1} << (p % 64); }
inline void clearPage(uint64_t *bits, size_t p) { bits[p / 64] &= ~(uint64_t{1} << (p % 64)); }

bool pageCommitted(const Chunk &c, size_t p) { return testPage(c.committed, p); }

void adviseHuge(const Chunk &c, size_t firstPage, size_t lastPage)
{
    constexpr size_t perHuge = kHugePage / kPage;
    if (space.cfg.stride < kHugePage)
        return;
    for (size_t h = firstPage / perHuge; h <= lastPage / perHuge; ++h) {
        bool full = true;
        for (size_t w = h * perHuge / 64; w < (h + 1) * perHuge / 64 && full; ++w)
            full = w < (c.nPages + 63) / 64 && c.committed[w] == ~uint64_t{0};
        if (!full)
            continue;
        for (unsigned u = 0; u < space.cfg.nrUnits; ++u)
            madvise(reinterpret_cast<void *>(c.unit(u, space.cfg.stride) + h * kHugePage),
                    kHugePage, MADV_HUGEPAGE);
    }
}

// Makes the pages covering [off, off + len) accessible in every unit.  The
// pages it commits are fresh when `module` (a module block's own, which
// undoing its load may give back); pages already committed stop being
// fresh: another block uses them now.
// CONTEXT: space.lock held (or the init lock, at start-up).
// RETURNS: 0, or -1 with errno ENOMEM when mprotect fails (nothing that
// was already committed is undone).
int commit(Chunk &c, size_t off, size_t len, bool module = false)
{
    size_t first = off / kPage, last = (off + len - 1) / kPage;
    for (size_t p = first; p <= last;) {
        if (pageCommitted(c, p)) {
            clearPage(c.freshPages, p);
            ++p;
            continue;
        }
        size_t q = p;
        while (q + 1 <= last && !pageCommitted(c, q + 1))
            ++q;
        size_t bytes = (q - p + 1) * kPage;
        for (unsigned u = 0; u < space.cfg.nrUnits; ++u) {
            void *at = reinterpret_cast<void *>(c.unit(u, space.cfg.stride) + p * kPage);
            if (mprotect(at, bytes, PROT_READ | PROT_WRITE) != 0) {
                int e = errno;
                for (unsigned v = 0; v < u; ++v) // leave no partial commit behind
                    mprotect(reinterpret_cast<void *>(c.unit(v, space.cfg.stride) + p * kPage),
                             bytes, PROT_NONE);
                errno = e == EAGAIN ? ENOMEM : e;
                return -1;
            }
        }
        for (size_t r = p; r <= q; ++r) {
            setPage(c.committed, r);
            if (module)
                setPage(c.freshPages, r);
            else
                clearPage(c.freshPages, r);
        }
        c.committedPages += q - p + 1;
        adviseHuge(c, p, q);
        p = q + 1;
    }
    return 0;
}

// Of the pages the freed block [bg, bg + bn) touched, makes those that now
// lie wholly inside the free block [g, g + n) and that the block committed
// itself (freshPages) inaccessible again in every unit, giving their memory
// back: pages committed before the block stay as they were.  Only the freed
// block's pages are looked at: the merged block can span a whole chunk.
// CONTEXT: space.lock held.
void decommitFree(Chunk &c, uint32_t bg, uint32_t bn, uint32_t g, uint32_t n)
{
    size_t freeFirst = (size_t{g} * kGranule + kPage - 1) / kPage;
    size_t freeEnd = (size_t{g} + n) * kGranule / kPage;
    size_t first = std::max(freeFirst, size_t{bg} * kGranule / kPage);
    size_t end = std::min(freeEnd, ((size_t{bg} + bn) * kGranule + kPage - 1) / kPage);
    auto givable = [&](size_t p) { return pageCommitted(c, p) && testPage(c.freshPages, p); };
    for (size_t p = first; p < end;) {
        if (!givable(p)) {
            ++p;
            continue;
        }
        size_t q = p;
        while (q + 1 < end && givable(q + 1))
            ++q;
        size_t bytes = (q - p + 1) * kPage;
        for (unsigned u = 0; u < space.cfg.nrUnits; ++u) {
            void *at = reinterpret_cast<void *>(c.unit(u, space.cfg.stride) + p * kPage);
            madvise(at, bytes, MADV_DONTNEED);
            mprotect(at, bytes, PROT_NONE);
        }
        for (size_t r = p; r <= q; ++r) {
            clearPage(c.committed, r);
            clearPage(c.freshPages, r);
        }
        c.committedPages -= q - p + 1;
        p = q + 1;
    }
}

// Whether [p, p + len) is all zero.  Reading a page that was never written
// maps the shared zero page instead of allocating one, so checking before
// clearing keeps untouched units uncommitted.  memcmp of the range against
// itself shifted by 8 (after the first 8 bytes are found zero) uses libc's
// vectorised compare.
bool allZero(const unsigned char *p, size_t len)
{
    if (len <= 128) { // granule-sized and aligned: whole words
        for (size_t i = 0; i + 8 <= len; i += 8) {
            uint64_t w;
            std::memcpy(&w, p + i, 8);
            if (w)
                return false;
        }
        for (size_t i = len & ~size_t{7}; i < len; ++i)
            if (p[i])
                return false;
        return true;
    }
    size_t head = std::min<size_t>(len, 8);
    for (size_t i = 0; i < head; ++i)
        if (p[i])
            return false;
    return len <= 8 || std::memcmp(p, p + 8, len - 8) == 0;
}

bool pageFile(const Chunk &c, size_t p) { return testPage(c.filePages, p); }

void zeroRangeInEveryUnit(const Chunk &c, size_t off, size_t len);
void bindToNodes(const Chunk &c, size_t off, size_t len);

// Clears [off, off + len) in every unit.  Pages that map a module's shared
// image (and lie wholly inside the range, as they do in the block that
// filled them) get fresh anonymous pages instead: writing zeros would give
// every unit a private copy, and MADV_DONTNEED would bring the image back.
// CONTEXT: space.lock held.
void zeroInEveryUnit(Chunk &c, size_t off, size_t len)
{
    size_t first = (off + kPage - 1) / kPage, end = (off + len) / kPage;
    size_t done = off;
    for (size_t p = first; p < end; ++p) {
        if (!pageFile(c, p))
            continue;
        size_t q = p;
        while (q + 1 < end && pageFile(c, q + 1))
            ++q;
        if (p * kPage > done)
            zeroRangeInEveryUnit(c, done, p * kPage - done);
        size_t bytes = (q - p + 1) * kPage;
        for (unsigned u = 0; u < space.cfg.nrUnits; ++u) {
            void *at = reinterpret_cast<void *>(c.unit(u, space.cfg.stride) + p * kPage);
            if (mmap(at, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
                std::memset(at, 0, bytes); // correct, at the cost of a private copy
        }
        bindToNodes(c, p * kPage, bytes);
        for (size_t r = p; r <= q; ++r)
            clearPage(c.filePages, r);
        done = (q + 1) * kPage;
        p = q;
    }
    if (off + len > done)
        zeroRangeInEveryUnit(c, done, off + len - done);
}

void zeroRangeInEveryUnit(const Chunk &c, size_t off, size_t len)
{
    for (unsigned u = 0; u < space.cfg.nrUnits; ++u) {
        auto *p = reinterpret_cast<unsigned char *>(c.unit(u, space.cfg.stride) + off);
        if (len >= 16 * kPage) {
            // Give whole pages back to the kernel: they read as zero again.
            uintptr_t a = (reinterpret_cast<uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
            uintptr_t b = (reinterpret_cast<uintptr_t>(p) + len) & ~(kPage - 1);
            std::memset(p, 0, a - reinterpret_cast<uintptr_t>(p));
            madvise(reinterpret_cast<void *>(a), b - a, MADV_DONTNEED);
            std::memset(reinterpret_cast<void *>(b), 0, reinterpret_cast<uintptr_t>(p) + len - b);
        } else if (!allZero(p, len)) {
            std::memset(p, 0, len);
        }
    }
}

// ---- chunks ------------------------------------------------------------------------------

// Unmaps a chunk that createChunk could not finish, and frees its record.
// CONTEXT: space.lock held (or the init lock); the chunk was never published.
void destroyChunk(Chunk *c)
{
    if (!c)
        return;
    if (c->mapBase)
        munmap(reinterpret_cast<void *>(c->mapBase), c->mapBytes);
    if (c->hdr)
        munmap(c->hdr, c->metaBytes);
    if (c->committed)
        munmap(c->committed, (c->nPages + 63) / 64 * 24);
    if (c->site)
        munmap(c->site, size_t{c->nGran} * sizeof(uintptr_t));
    c->~Chunk();
    munmap(c, sizeof(Chunk));
}

// MPOL_PREFERRED for [off, off + len) of every unit: the unit's pages come
// from its CPU's node when it has memory, from elsewhere otherwise.
void bindToNodes(const Chunk &c, size_t off, size_t len)
{
    if (!space.cfg.numa)
        return;
    for (unsigned u = 0; u < space.cfg.nrUnits; ++u) {
        int node = cpuNode(u);
        if (node < 0)
            return; // single node, or unknown: nothing to do
        unsigned long mask[16] = {};
        if (node >= static_cast<int>(sizeof(mask) * 8))
            continue;
        mask[node / 64] |= 1ul << (node % 64);
        syscall(SYS_mbind, c.unit(u, space.cfg.stride) + off, len, 1, mask, sizeof(mask) * 8, 0);
    }
}
void bindToNodes(const Chunk &c) { bindToNodes(c, 0, space.cfg.stride); }

// RETURNS: whether initial images are shared copy-on-write (PERCPU_COW, on
// by default; off under LeakSanitizer, which scans writable mappings).
bool copyOnWriteAllowed()
{
    const char *e = envGet("PERCPU_COW");
    return !(e && !strcmp(e, "0"));
}

// Pages [p0, p1) of every unit as private mappings of one memfd holding an
// image (`len` bytes of `src` at `at` in the file, zeros around): reads share
// one physical copy, the first write to a page gives that unit its own
// (copy-on-write).  Returns the number of units mapped, from unit 0; the
// caller copies into the others (all of them when memfd_create or a mapping
// fails).
// CONTEXT: space.lock held (or the init lock, for the static block).
unsigned mapImage(Chunk &c, size_t p0, size_t p1, const void *src, size_t at, size_t len)
{
    size_t bytes = (p1 - p0) * kPage;
    int fd = static_cast<int>(syscall(SYS_memfd_create, "percpu-image", 1u /* MFD_CLOEXEC */));
    if (fd < 0)
        return 0;
    unsigned mapped = 0;
    if (ftruncate(fd, static_cast<off_t>(bytes)) == 0 &&
        pwrite(fd, src, len, static_cast<off_t>(at)) == static_cast<ssize_t>(len)) {
        for (; mapped < space.cfg.nrUnits; ++mapped) {
            void *to = reinterpret_cast<void *>(c.unit(mapped, space.cfg.stride) + p0 * kPage);
            if (mmap(to, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED)
                break; // this unit keeps its anonymous pages: the caller copies
        }
        if (mapped)
            bindToNodes(c, p0 * kPage, bytes); // the new mappings have no policy yet
    }
    close(fd);
    return mapped;
}

// The static block: its pages of every unit map the template, so a unit no
// thread wrote costs no memory, however many possible CPUs there are, and a
// CPU that comes online later sees the initial image like the others.  The
// block's first and last pages are shared with nothing yet (this runs
// before any allocation), so they are mapped whole.  Returns the units
// mapped (0 with PERCPU_COW=0).
// CONTEXT: the init lock, from spaceInit().
unsigned mapStaticCopyOnWrite(Chunk &c, size_t off, size_t size, const void *image)
{
    if (!copyOnWriteAllowed())
        return 0;
    size_t p0 = off / kPage, p1 = (off + size + kPage - 1) / kPage;
    unsigned mapped = mapImage(c, p0, p1, image, off - p0 * kPage, size);
    space.cowUnits = mapped;
    return mapped;
}

// Maps `bytes` PROT_NONE at exactly `at`, or returns nullptr.  Kernels
// before 4.17 take MAP_FIXED_NOREPLACE as a hint: a mapping elsewhere is
// undone.
void *mapExactly(uintptr_t at, size_t bytes)
{
    if (at < (uintptr_t{1} << 20) || at + bytes < at)
        return nullptr;
    void *want = reinterpret_cast<void *>(at);
    void *p = mmap(want, bytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        return nullptr;
    if (p != want) {
        munmap(p, bytes);
        return nullptr;
    }
    return p;
}

// Chunk 0's units.  Every later chunk reserves its canonical range and its
// units together, D = base_0 - canon_0 apart, so D is kept small: the units
// go below the image with room left for the loader's module area (which
// wants to be within 2 GiB of the host's code), or, for an image in low
// memory, above it with room left for the brk heap.  When neither place is
// free they go where the kernel puts them; later chunks may then not fit
// (spaceAlloc() fails with ENOMEM once chunk 0 is full).
// CONTEXT: the init lock, from spaceInit().
// RETURNS: the units' base, or 0 when no mapping could be made.
uintptr_t placeFirstUnits(size_t bytes, size_t align)
{
    constexpr uintptr_t kGiB = uintptr_t{1} << 30;
    const uintptr_t lo = space.cfg.imageStart, hi = space.cfg.imageEnd;
    uintptr_t tries[6] = {};
    unsigned n = 0;
    if (lo && lo > bytes + 5 * kGiB)
        tries[n++] = (lo - 4 * kGiB - bytes) & ~(align - 1);
    if (hi) {
        // Above a low image, leaving the brk heap room to grow; the nearer
        // ones for sanitizers whose shadow memory takes 2 GiB..16 TiB.
        for (uintptr_t gap : {64 * kGiB, 4 * kGiB, kGiB / 4})
            tries[n++] = (hi + gap + align - 1) & ~(align - 1);
        tries[n++] = uintptr_t{1} << 45; // the middle of a 47-bit space
    }
    for (unsigned i = 0; i < n; ++i)
        if (mapExactly(tries[i], bytes))
            return tries[i];
    void *res = mapNoReserve(bytes + align, PROT_NONE);
    if (!res)
        return 0;
    uintptr_t r = reinterpret_cast<uintptr_t>(res);
    uintptr_t base = (r + align - 1) & ~(align - 1);
    if (base > r)
        munmap(res, base - r);
    if (r + align > base)
        munmap(reinterpret_cast<void *>(base + bytes), r + align - base);
    return base;
}

// Chunk k > 0: one reservation holding its canonical range [c, c + stride)
// and its units at c + D.  Sets c.mapBase/mapBytes/base/canon.
// CONTEXT: space.lock held.
// RETURNS: false (errno from mmap) when the reservation failed.
bool placeLaterChunk(Chunk &c, size_t unitsBytes, size_t align)
{
    const Chunk &c0 = *space.chunks[0];
    const intptr_t d = static_cast<intptr_t>(c0.base - c0.canon);
    const intptr_t lo = std::min<intptr_t>(0, d);
    const intptr_t hi = std::max<intptr_t>(static_cast<intptr_t>(space.cfg.stride),
                                           d + static_cast<intptr_t>(unitsBytes));
    const size_t span = static_cast<size_t>(hi - lo) + align;
    void *res = mapNoReserve(span, PROT_NONE);
    if (!res)
        return false;
    uintptr_t r = reinterpret_cast<uintptr_t>(res);
    uintptr_t base = (r - static_cast<uintptr_t>(lo) + static_cast<uintptr_t>(d) + align - 1) &
                     ~(align - 1);
    c.mapBase = r;
    c.mapBytes = span;
    c.base = base;
    c.canon = base - static_cast<uintptr_t>(d);
    c.ownLo[0] = c.canon;
    c.ownHi[0] = c.canon + space.cfg.stride;
    return true;
}

// Maps a new chunk: chunk 0 (first) at the host's static block, the others
// in a reservation of their own.
// CONTEXT: space.lock held (the init lock for chunk 0).
// RETURNS: the chunk, published in space.chunks, or nullptr with errno set.
Chunk *createChunk(bool first)
{
    const size_t stride = space.cfg.stride;
    const size_t unitsBytes = stride * space.cfg.nrUnits;
    void *mem = mmap(nullptr, sizeof(Chunk), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return nullptr;
    Chunk *c = new (mem) Chunk();

    // Align units to a huge page when they are big enough to use one.
    size_t align = std::min(stride, kHugePage);
    if (first) {
        c->base = placeFirstUnits(unitsBytes, align);
        c->mapBase = c->base;
        c->mapBytes = unitsBytes;
        c->canon = space.cfg.staticStart & ~(kPage - 1);
    } else if (!placeLaterChunk(*c, unitsBytes, align)) {
        c->base = 0;
    }
    if (!c->base) {
        destroyChunk(c);
        errno = ENOMEM;
        return nullptr;
    }
    c->nGran = static_cast<uint32_t>(stride / kGranule);
    c->metaBytes = size_t{4} * c->nGran * sizeof(uint32_t);
    auto *meta = static_cast<uint32_t *>(mapNoReserve(c->metaBytes, PROT_READ | PROT_WRITE));
    c->nPages = stride / kPage;
    c->committed = static_cast<uint64_t *>(
        mapNoReserve((c->nPages + 63) / 64 * 24, PROT_READ | PROT_WRITE));
    if (c->committed) {
        c->filePages = c->committed + (c->nPages + 63) / 64;
        c->freshPages = c->filePages + (c->nPages + 63) / 64;
    }
    if (space.cfg.recordSites)
        c->site = static_cast<uintptr_t *>(
            mapNoReserve(size_t{c->nGran} * sizeof(uintptr_t), PROT_READ | PROT_WRITE));
    if (!meta || !c->committed || (space.cfg.recordSites && !c->site)) {
        if (meta)
            munmap(meta, c->metaBytes);
        destroyChunk(c);
        errno = ENOMEM;
        return nullptr;
    }
    c->hdr = meta;
    c->ftr = meta + c->nGran;
    c->next = meta + 2 * size_t{c->nGran};
    c->prev = meta + 3 * size_t{c->nGran};
    for (auto &row : c->heads)
        std::fill(std::begin(row), std::end(row), kNil);
    std::fill(std::begin(c->quick), std::end(c->quick), kNil);
    bindToNodes(*c);
    return c;
}

// Carves [g, g + n) out of the free block starting at fg (size fn), which
// must contain it, and marks it with `state`.
// CONTEXT: space.lock held.
void carve(Chunk &c, uint32_t fg, uint32_t fn, uint32_t g, uint32_t n, State state)
{
    removeFree(c, fg, fn);
    if (g > fg)
        insertFree(c, fg, g - fg);
    if (fg + fn > g + n)
        insertFree(c, g + n, fg + fn - (g + n));
    c.hdr[g] = makeHdr(n, state);
}

// Allocates n granules aligned to a (granules, power of two) in chunk c.
// CONTEXT: space.lock held.
// RETURNS: the first granule, or kNil when no free block of the chunk fits.
uint32_t allocIn(Chunk &c, uint32_t n, uint32_t a, State state)
{
    if (a <= 1 && n <= kQuickMax && c.quick[n] != kNil) {
        uint32_t g = c.quick[n];
        c.quick[n] = c.next[g];
        c.quickGranules -= n;
        c.hdr[g] = makeHdr(n, state);
        return g;
    }
    uint64_t want = uint64_t{n} + (a > 1 ? a - 1 : 0);
    uint32_t fg = findFree(c, want);
    if (fg == kNil && c.quickGranules) {
        flushQuick(c);
        fg = findFree(c, want);
    }
    if (fg == kNil)
        return kNil;
    uint32_t fn = hdrSize(c.hdr[fg]);
    uint32_t g = (fg + a - 1) & ~(a - 1);
    carve(c, fg, fn, g, n, state);
    return g;
}

std::atomic<bool> abortOnBadFree{false};

} // namespace

const SpaceConfig &spaceConfig() { return space.cfg; }

// Makes [from, to) of the image fault: PROT_NONE, or, under LeakSanitizer
// (which scans the image's writable segments and would fault there),
// poisoned for AddressSanitizer.
extern "C" void __lsan_ignore_object(const void *) __attribute__((weak));
extern "C" void __asan_poison_memory_region(const volatile void *, size_t) __attribute__((weak));

void guardInImage(uintptr_t from, uintptr_t to)
{
    if (to <= from)
        return;
    void *p = reinterpret_cast<void *>(from);
    if (__lsan_ignore_object) {
        if (__asan_poison_memory_region)
            __asan_poison_memory_region(p, to - from);
        return;
    }
    mmap(p, to - from, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

// CONTEXT: the init lock (core.cc), once, before any other space function.
// RETURNS: see runtime.h.
int spaceInit(const SpaceConfig &config)
{
    space.cfg = config;
    space.unitPages = config.stride / kPage;
    Chunk *c = createChunk(true);
    if (!c)
        return -1;
    const uintptr_t canon = c->canon, limit = canon + config.stride;
    const size_t off = config.staticStart - canon;
    const size_t end = off + config.staticSize;
    const auto gran = [](uintptr_t bytes) { return static_cast<uint32_t>((bytes + kGranule - 1) / kGranule); };

    // What chunk 0 owns: the static block (with the rest of its last page
    // when the fragment page-aligned it), and the reservation.
    const bool aligned = config.templateEnd && config.staticStart % kPage == 0 &&
                         config.templateEnd % kPage == 0 &&
                         config.templateEnd >= config.staticStart + config.staticSize;
    c->ownLo[0] = config.staticStart;
    c->ownHi[0] = aligned ? std::min(config.templateEnd, limit)
                          : canon + size_t{gran(end)} * kGranule;
    if (config.reserveEnd > config.reserveStart && config.reserveStart >= c->ownHi[0] &&
        config.reserveStart < limit) {
        c->ownLo[1] = config.reserveStart;
        c->ownHi[1] = std::min(config.reserveEnd, limit);
    }

    // The unit is one free block; the static block and the holes around what
    // chunk 0 owns are carved out of it, in address order.
    insertFree(*c, 0, c->nGran);
    struct Mark {
        uint32_t g0, g1;
        State state;
    } marks[] = {
        {0, static_cast<uint32_t>(off / kGranule), State::Hole},
        {static_cast<uint32_t>(off / kGranule), gran(end), State::Static},
        {gran(c->ownHi[0] - canon), c->ownLo[1] ? gran(c->ownLo[1] - canon) : c->nGran, State::Hole},
        {c->ownLo[1] ? gran(c->ownHi[1] - canon) : c->nGran, c->nGran, State::Hole},
    };
    uint32_t fg = 0, fn = c->nGran;
    for (const Mark &m : marks) {
        if (m.g1 <= m.g0 || fn == 0)
            continue;
        carve(*c, fg, fn, m.g0, m.g1 - m.g0, m.state);
        fn = fg + fn - m.g1;
        fg = m.g1;
        if (m.state == State::Static)
            space.usedGranules += m.g1 - m.g0;
    }
    if (config.staticSize) {
        if (commit(*c, off, config.staticSize) != 0) {
            destroyChunk(c);
            return -1;
        }
        const void *image = reinterpret_cast<const void *>(config.staticStart);
        for (unsigned u = mapStaticCopyOnWrite(*c, off, config.staticSize, image); u < config.nrUnits; ++u)
            std::memcpy(reinterpret_cast<void *>(c->unit(u, config.stride) + off), image,
                        config.staticSize);
    }
    // The units hold the template now: its pages, and the reservation, fault.
    if (aligned)
        guardInImage(config.staticStart, config.templateEnd);
    guardInImage(config.reserveStart, config.reserveEnd);

    space.staticBytes = config.staticSize;
    for (unsigned u = 0; u < config.nrUnits; ++u)
        pcpu_unit_offset[u] = c->unit(u, config.stride) - c->canon;
    pcpu__unit_base = pcpu_unit_offset[0];
    pcpu__unit_shift = static_cast<unsigned long>(std::countr_zero(config.stride));
    space.chunks[0] = c;
    space.nChunks.store(1, std::memory_order_release);
    const char *e = envGet("PERCPU_ABORT_ON_BAD_FREE");
    abortOnBadFree.store(e && *e && strcmp(e, "0") != 0);
    return 0;
}

// CONTEXT: takes space.lock.  RETURNS: see runtime.h.
void *spaceAlloc(size_t size, size_t align, Owner owner, uintptr_t site)
{
    if (align == 0)
        align = kGranule;
    if (size == 0 || (align & (align - 1)) || align > PCPU_MAX_ALIGN) {
        errno = EINVAL;
        return nullptr;
    }
    if (size > space.cfg.stride) {
        errno = ENOMEM;
        return nullptr;
    }
    uint32_t n = static_cast<uint32_t>((size + kGranule - 1) / kGranule);
    uint32_t a = static_cast<uint32_t>(std::max<size_t>(align, kGranule) / kGranule);
    State state = stateOf(owner);

    LockGuard guard(space.lock);
    unsigned nChunks = space.nChunks.load(std::memory_order_relaxed);
    for (unsigned i = 0;; ++i) {
        if (i == nChunks) {
            if (nChunks == kMaxChunks) {
                errno = ENOMEM;
                return nullptr;
            }
            Chunk *c = createChunk(false);
            if (!c)
                return nullptr;
            insertFree(*c, 0, c->nGran);
            space.chunks[nChunks] = c;
            space.nChunks.store(++nChunks, std::memory_order_release);
        }
        Chunk &c = *space.chunks[i];
        uint32_t g = allocIn(c, n, a, state);
        if (g == kNil)
            continue;
        size_t off = size_t{g} * kGranule;
        if (commit(c, off, size, owner == Owner::Module) != 0) {
            int e = errno;
            c.hdr[g] = makeHdr(n, State::Dynamic);
            releaseBlock(c, g, n);
            errno = e;
            return nullptr;
        }
        space.usedGranules += n;
        if (c.site)
            c.site[g] = site;
        if (owner == Owner::Module) {
            space.moduleBytes += size_t{n} * kGranule;
            ++space.moduleCount;
        } else {
            space.dynamicBytes += size_t{n} * kGranule;
            ++space.dynamicCount;
        }
        return reinterpret_cast<void *>(c.canon + off);
    }
}

// The chunk whose canonical range holds p, or nullptr; under space.lock.
static Chunk *chunkOf(uintptr_t p)
{
    unsigned nChunks = space.nChunks.load(std::memory_order_relaxed);
    for (unsigned i = 0; i < nChunks; ++i)
        if (space.chunks[i]->owns(p))
            return space.chunks[i];
    return nullptr;
}

// CONTEXT: takes space.lock.  RETURNS: see runtime.h.
int spaceFree(void *canonical, Owner owner, char *why, size_t whyLen, bool givePagesBack)
{
    uintptr_t p = reinterpret_cast<uintptr_t>(canonical);
    LockGuard guard(space.lock);
    Chunk *c = chunkOf(p);
    auto fail = [&](const char *fmt, auto... args) {
        snprintf(why, whyLen, fmt, args...);
        errno = EINVAL;
        return -1;
    };
    if (!c)
        return fail("%p is not a per-CPU pointer (outside every chunk)", canonical);
    size_t off = p - c->canon;
    if (off % kGranule)
        return fail("%p is not the start of a per-CPU allocation (offset 0x%zx)", canonical, off);
    uint32_t g = static_cast<uint32_t>(off / kGranule);
    uint32_t h = c->hdr[g];
    State s = hdrState(h);
    uint32_t n = hdrSize(h);
    switch (s) {
    case State::Free:
    case State::Quick:
        return fail("double free of %p (offset 0x%zx, %u bytes, already free)", canonical, off,
                    n * kGranule);
    case State::None:
        return fail("%p is not the start of a live per-CPU allocation (offset 0x%zx; "
                    "double free or interior pointer)",
                    canonical, off);
    case State::Static:
        return fail("%p is the host's static per-CPU block, not an allocation", canonical);
    case State::Hole:
        return fail("%p is not a per-CPU pointer (outside every chunk)", canonical);
    case State::Dynamic:
    case State::Module:
        break;
    }
    if (s != stateOf(owner))
        return fail("%p is a %s, not a %s", canonical,
                    s == State::Module ? "module per-CPU block" : "pcpu_alloc() object",
                    owner == Owner::Module ? "module per-CPU block" : "pcpu_alloc() object");

    size_t bytes = size_t{n} * kGranule;
    zeroInEveryUnit(*c, off, bytes);
    space.usedGranules -= n;
    if (s == State::Module) {
        space.moduleBytes -= bytes;
        --space.moduleCount;
    } else {
        space.dynamicBytes -= bytes;
        --space.dynamicCount;
    }
    if (s == State::Module) {
        // Module blocks are rare and large: merge at once; when asked (a
        // failed load being undone), give whole pages back so that the
        // units' mappings are exactly as before.
        auto [fg, fn] = releaseBlock(*c, g, n);
        if (givePagesBack) {
            decommitFree(*c, g, n, fg, fn);
        } else { // an unloaded module's pages stay committed for what comes next
            for (size_t p = off / kPage; p <= (off + bytes - 1) / kPage; ++p)
                clearPage(c->freshPages, p);
        }
    } else if (n <= kQuickMax) {
        c->hdr[g] = makeHdr(n, State::Quick);
        c->next[g] = c->quick[n];
        c->quick[n] = g;
        c->quickGranules += n;
    } else {
        releaseBlock(*c, g, n);
    }
    return 0;
}

// CONTEXT: takes space.lock.  RETURNS: see runtime.h.
int spaceFillImage(void *canonical, const void *image, size_t size)
{
    uintptr_t p = reinterpret_cast<uintptr_t>(canonical);
    LockGuard guard(space.lock);
    Chunk *c = chunkOf(p);
    size_t off = c ? p - c->canon : 0;
    if (!c || off % kGranule || hdrState(c->hdr[off / kGranule]) != State::Module ||
        size_t{hdrSize(c->hdr[off / kGranule])} * kGranule < size) {
        errno = EINVAL;
        return -1;
    }
    // Whole pages of the block share one image; the partial pages at its
    // ends hold other blocks' data too, and are copied.
    size_t p0 = (off + kPage - 1) / kPage, p1 = (off + size) / kPage;
    unsigned mapped = 0;
    if (p1 > p0 && copyOnWriteAllowed()) {
        const auto *src = static_cast<const unsigned char *>(image) + (p0 * kPage - off);
        mapped = mapImage(*c, p0, p1, src, 0, (p1 - p0) * kPage);
        if (mapped)
            for (size_t r = p0; r < p1; ++r)
                setPage(c->filePages, r);
    }
    for (unsigned u = 0; u < space.cfg.nrUnits; ++u) {
        auto *dst = reinterpret_cast<unsigned char *>(c->unit(u, space.cfg.stride) + off);
        const auto *src = static_cast<const unsigned char *>(image);
        if (u < mapped) {
            std::memcpy(dst, src, p0 * kPage - off);
            std::memcpy(dst + (p1 * kPage - off), src + (p1 * kPage - off), off + size - p1 * kPage);
        } else {
            std::memcpy(dst, src, size);
        }
    }
    return 0;
}

// CONTEXT: any, lock-free (the guard's signal handler calls it).
// RETURNS: see runtime.h.
bool spaceContains(const void *canonical)
{
    uintptr_t p = reinterpret_cast<uintptr_t>(canonical);
    unsigned n = space.nChunks.load(std::memory_order_acquire);
    for (unsigned i = 0; i < n; ++i)
        if (space.chunks[i]->owns(p))
            return true;
    return false;
}

// CONTEXT: any, lock-free, racy reads (for a dying process).
// RETURNS: see runtime.h.
bool spaceDescribe(uintptr_t p, SpaceBlock &out)
{
    unsigned n = space.nChunks.load(std::memory_order_acquire);
    for (unsigned i = 0; i < n; ++i) {
        const Chunk &c = *space.chunks[i];
        if (!c.owns(p))
            continue;
        // Walk back to the header of the block holding p.
        uint32_t g = static_cast<uint32_t>((p - c.canon) / kGranule);
        while (g > 0 && hdrState(c.hdr[g]) == State::None)
            --g;
        uint32_t h = c.hdr[g];
        State s = hdrState(h);
        out = SpaceBlock{};
        out.start = c.canon + size_t{g} * kGranule;
        out.bytes = size_t{hdrSize(h)} * kGranule;
        if (p >= out.start + out.bytes) { // inside a block p's header walk missed
            out.live = false;
            return true;
        }
        out.live = s == State::Dynamic || s == State::Module || s == State::Static;
        out.owner = s == State::Module ? Owner::Module : s == State::Static ? Owner::Static
                                                                             : Owner::Dynamic;
        if (s == State::Static) { // the block as the host linked it
            out.start = space.cfg.staticStart;
            out.bytes = space.cfg.staticSize;
        }
        out.site = (s == State::Dynamic && c.site) ? c.site[g] : 0;
        return true;
    }
    return false;
}

// CONTEXT: takes space.lock.
void spaceStats(pcpu_stats *st)
{
    LockGuard guard(space.lock);
    unsigned n = space.nChunks.load(std::memory_order_relaxed);
    st->nr_units = space.cfg.nrUnits;
    st->nr_chunks = n;
    st->unit_stride = space.cfg.stride;
    st->cow_units = space.cowUnits;
    st->static_bytes = space.staticBytes;
    st->dynamic_bytes = space.dynamicBytes;
    st->dynamic_allocations = space.dynamicCount;
    st->module_bytes = space.moduleBytes;
    st->module_blocks = space.moduleCount;
    st->used_bytes = space.usedGranules * kGranule;
    size_t pages = 0;
    for (unsigned i = 0; i < n; ++i)
        pages += space.chunks[i]->committedPages;
    st->committed_per_unit = pages * kPage;
    st->committed_bytes = st->committed_per_unit * space.cfg.nrUnits;
    st->reserved_bytes = size_t{n} * space.cfg.nrUnits * space.cfg.stride;
}

bool badFreeAborts() { return abortOnBadFree.load(std::memory_order_relaxed); }

} // namespace percpu::rt
