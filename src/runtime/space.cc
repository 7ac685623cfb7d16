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
// allocation and free, plus exact-size quick lists for objects up to 256
// bytes (freed objects are reused by the next request of the same size
// without merging; the lists are merged back when the chunk cannot satisfy a
// request), and a frontier: space past it was never handed out, and comes
// without any bookkeeping.  Its metadata follows the kernel's pcpu_block_md
// (a bit per minimum allocation unit) and the classic boundary-tag malloc:
//  - four bitmaps with a bit per granule (used, start, quick, module), which
//    say what a pointer is and how big its block is: 4 bits per 64 of live
//    data, interleaved by cache line (see "bitmaps"), reserved and
//    committed as touched;
//  - free blocks' sizes and list links live in unit 0's copy of the free
//    space itself (in-band tags, see "in-band tags" below): unit 0 is always
//    there, and the space is free, so nothing else reads it.
// Nothing scans the allocations.
//
// Memory: units are mapped read-write (MAP_NORESERVE, no huge pages) when a
// chunk is created, so a page costs memory when a unit first writes it and
// allocating makes no system call, whatever the number of units: one
// mapping per chunk of units, whatever the allocations and frees (module
// images and NUMA policies split it per unit).  Freed bytes are zeroed in
// every unit (copies that were never written are only read, which maps the
// shared zero page).
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
#include <sys/prctl.h>
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
    if (n > (uint64_t{1} << kSizeBits) - 1) {
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

// The allocator's own memory, named "[anon:percpu-metadata]" in
// /proc/PID/maps and smaps where the kernel names anonymous mappings
// (Linux 5.17, CONFIG_ANON_VMA_NAME), so that its cost can be read there.
// A kernel without names says so once (EINVAL): not asked again.
void *mapMetadata(size_t bytes)
{
    static std::atomic<bool> unnamed{false};
    void *p = mapNoReserve(bytes, PROT_READ | PROT_WRITE);
    if (p && !unnamed.load(std::memory_order_relaxed) &&
        prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, reinterpret_cast<unsigned long>(p), bytes,
              reinterpret_cast<unsigned long>("percpu-metadata")) != 0 &&
        errno == EINVAL)
        unnamed.store(true, std::memory_order_relaxed);
    return p;
}

// ---- bitmaps -----------------------------------------------------------------------------
//
// A chunk's bitmaps are interleaved by cache line: a group holds a line
// (8 words, 512 bits) of each of four bitmaps, so that a new process
// faults in one page of metadata for its first allocations instead of one
// per bitmap (the granule bitmaps are a megabyte apart at the default
// stride), while a scan along one bitmap still reads whole lines.

constexpr size_t kLineWords = 8;                 // words of one bitmap in a group
constexpr size_t kGroupWords = 4 * kLineWords;   // a group: four bitmaps' lines

// One bitmap of a group array (base: the group array plus the bitmap's
// line index times kLineWords): word w in line w / 8 of its group.
struct Bits {
    uint64_t *base = nullptr;
    uint64_t &operator[](size_t w) const
    {
        return base[w / kLineWords * kGroupWords + w % kLineWords];
    }
};

// Bytes of a group array for `bits` bits per bitmap.
constexpr size_t groupBytes(size_t bits)
{
    return (bits + 64 * kLineWords - 1) / (64 * kLineWords) * kGroupWords * sizeof(uint64_t);
}

inline bool testBit(Bits bits, size_t i) { return (bits[i / 64] >> (i % 64)) & 1; }
inline void setBit(Bits bits, size_t i) { bits[i / 64] |= uint64_t{1} << (i % 64); }
inline void clearBit(Bits bits, size_t i) { bits[i / 64] &= ~(uint64_t{1} << (i % 64)); }

// Sets (value true) or clears bits [i, i + n).  One loop per value, so
// that each word is updated by one read-modify-write instruction: a page of
// metadata first touched here then faults once, for writing, instead of
// once to map the zero page for the read and again for the write.
template <bool value>
void fillBits(Bits bits, size_t i, size_t n)
{
    while (n) {
        size_t w = i / 64, b = i % 64, k = std::min<size_t>(64 - b, n);
        uint64_t mask = (k == 64 ? ~uint64_t{0} : ((uint64_t{1} << k) - 1)) << b;
        if constexpr (value)
            bits[w] |= mask;
        else
            bits[w] &= ~mask;
        i += k;
        n -= k;
    }
}

// The first i in [from, limit) where `set` has a bit or `clear` lacks one,
// or limit.
size_t scanForward(Bits set, Bits clear, size_t from, size_t limit)
{
    size_t i = from;
    while (i < limit) {
        size_t w = i / 64, b = i % 64;
        uint64_t v = (set[w] | ~clear[w]) >> b;
        if (v)
            return std::min(limit, i + static_cast<size_t>(std::countr_zero(v)));
        i += 64 - b;
    }
    return limit;
}

// The last i <= from with bit i of `bits` set, or SIZE_MAX.
size_t scanBackward(Bits bits, size_t from)
{
    size_t w = from / 64;
    uint64_t v = bits[w] & (~uint64_t{0} >> (63 - from % 64));
    for (;;) {
        if (v)
            return w * 64 + 63 - static_cast<size_t>(std::countl_zero(v));
        if (w == 0)
            return SIZE_MAX;
        v = bits[--w];
    }
}

struct Chunk {
    uintptr_t base = 0;    // unit 0's first byte
    uintptr_t canon = 0;   // canonical address of offset 0
    uintptr_t mapBase = 0; // the reservation as mapped (may precede base)
    size_t mapBytes = 0;
    uint32_t nGran = 0;
    size_t metaBytes = 0; // this record and the metadata after it: one mapping

    // Block metadata: bitmaps with a bit per granule, interleaved (see
    // "bitmaps"; reserved, committed as touched: 4 bits per 64 bits of live
    // data).
    //   used    the granule belongs to a block that is not free (live, quick,
    //           static or hole); free space and the virgin tail are 0
    //   start   a used block's first granule
    //   quick   a used block's first granule, the block parked in a quick list
    //   module  a used block's first granule, the block a module's
    Bits used, start, quick, module;

    // [frontier, limit): granules never handed out since the chunk was
    // mapped (or given back whole): zero in every unit, without tags.
    uint32_t frontier = 0, limit = 0;

    // Page metadata, interleaved likewise: one bit per page of a unit.
    Bits committed;  // handed out
    Bits filePages;  // maps a shared image (module blocks)
    Bits freshPages; // a live module block committed it itself: what undoing its
                     // load (givePagesBack) may give back
    size_t nPages = 0;
    size_t committedPages = 0;

    uint32_t flBitmap = 0;
    uint32_t slBitmap[kFLCount] = {};
    uint32_t heads[kFLCount][kSLCount] = {};
    uint32_t quickHead[kQuickMax + 1] = {};
    size_t quickGranules = 0;
    size_t freeGranules = 0; // in TLSF lists

    // The canonical addresses this chunk owns: [ownLo[i], ownHi[i]).
    uintptr_t ownLo[2] = {}, ownHi[2] = {};
    uintptr_t *site = nullptr; // by granule: pcpu_alloc()'s caller (guard on)
    size_t rootStart = 0;      // of each unit, registered with LeakSanitizer:
    size_t rootBytes = 0;      //   [rootStart, rootStart + rootBytes)

    uintptr_t unit(unsigned u, size_t stride) const { return base + static_cast<uintptr_t>(u) * stride; }
    bool owns(uintptr_t p) const
    {
        return (p - ownLo[0] < ownHi[0] - ownLo[0]) || (p - ownLo[1] < ownHi[1] - ownLo[1]);
    }
    // The size in granules of the used block starting at g.
    uint32_t blockSize(uint32_t g) const
    {
        return static_cast<uint32_t>(scanForward(start, used, size_t{g} + 1, limit) - g);
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

// ---- in-band tags --------------------------------------------------------------------
//
// A free block's list links and size live in unit 0's copy of its own
// granules, as two 32-bit words per granule (w[0], w[1]):
//   first granule   w[0] size, w[1] next   (a 1-granule block: w[1] = size)
//   second granule  w[0] prev
//   last granule    w[1] size              (the footer the left merge reads)
// and a quick block's link is w[0] of its first granule.  Everything else
// of unit 0's free memory is zero, so clearing those words is all that
// handing the space out again needs.  1-granule free blocks are in no list:
// they come back when a neighbour is freed.

inline uint32_t *tag(const Chunk &c, uint32_t g) { return reinterpret_cast<uint32_t *>(c.base + size_t{g} * kGranule); }
inline void clearGranule(const Chunk &c, uint32_t g) { std::memset(tag(c, g), 0, kGranule); }

// Zeroes the tags of the free block [g, g + n).
void clearTags(const Chunk &c, uint32_t g, uint32_t n)
{
    clearGranule(c, g);
    if (n >= 2) {
        clearGranule(c, g + 1);
        clearGranule(c, g + n - 1);
    }
}

// ---- free lists ----------------------------------------------------------------

// Tags [g, g + n) as free and puts it at the head of its TLSF list (in none
// when n == 1).
// CONTEXT: space.lock held.
void insertFree(Chunk &c, uint32_t g, uint32_t n)
{
    c.freeGranules += n;
    if (n == 1) {
        tag(c, g)[0] = 1;
        tag(c, g)[1] = 1;
        return;
    }
    unsigned fl, sl;
    mappingInsert(n, fl, sl);
    uint32_t head = c.heads[fl][sl];
    tag(c, g)[0] = n;
    tag(c, g)[1] = head;
    tag(c, g + 1)[0] = kNil;
    tag(c, g + n - 1)[1] = n;
    if (head != kNil)
        tag(c, head + 1)[0] = g;
    c.heads[fl][sl] = g;
    c.flBitmap |= 1u << fl;
    c.slBitmap[fl] |= 1u << sl;
}

// Takes the free block [g, g + n) out of its list and clears its tags.
// CONTEXT: space.lock held.
void removeFree(Chunk &c, uint32_t g, uint32_t n)
{
    c.freeGranules -= n;
    if (n >= 2) {
        unsigned fl, sl;
        mappingInsert(n, fl, sl);
        uint32_t nx = tag(c, g)[1], pv = tag(c, g + 1)[0];
        if (nx != kNil)
            tag(c, nx + 1)[0] = pv;
        if (pv != kNil)
            tag(c, pv)[1] = nx;
        else {
            c.heads[fl][sl] = nx;
            if (nx == kNil) {
                c.slBitmap[fl] &= ~(1u << sl);
                if (c.slBitmap[fl] == 0)
                    c.flBitmap &= ~(1u << fl);
            }
        }
    }
    clearTags(c, g, n);
}

// A free block of at least n granules (good fit), not removed from its list.
// CONTEXT: space.lock held.
// RETURNS: its first granule, or kNil when the lists have none.
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

// Returns the used block [g, g + n), whose memory is zero in every unit, to
// free space, merged with free neighbours (into the virgin tail when it
// reaches the frontier).
// CONTEXT: space.lock held.
// RETURNS: the merged free block as (first, count); count 0 when it joined
// the tail, which then starts at `first`.
std::pair<uint32_t, uint32_t> releaseBlock(Chunk &c, uint32_t g, uint32_t n)
{
    fillBits<false>(c.used, g, n);
    clearBit(c.start, g);
    uint32_t end = g + n;
    if (end < c.frontier && !testBit(c.used, end)) {
        uint32_t rn = tag(c, end)[0];
        removeFree(c, end, rn);
        n += rn;
        end += rn;
    }
    if (g > 0 && !testBit(c.used, g - 1)) {
        uint32_t ln = tag(c, g - 1)[1];
        removeFree(c, g - ln, ln);
        g -= ln;
        n += ln;
    }
    if (end == c.frontier) {
        c.frontier = g;
        return {g, 0};
    }
    insertFree(c, g, n);
    return {g, n};
}

// Merges every quick-list block back into free space.
// CONTEXT: space.lock held.
void flushQuick(Chunk &c)
{
    for (uint32_t n = 1; n <= kQuickMax; ++n) {
        for (uint32_t g = c.quickHead[n]; g != kNil;) {
            uint32_t nx = tag(c, g)[0];
            clearGranule(c, g);
            clearBit(c.quick, g);
            releaseBlock(c, g, n);
            g = nx;
        }
        c.quickHead[n] = kNil;
    }
    c.quickGranules = 0;
}

// ---- commit and zeroing -------------------------------------------------------------
//
// Units are mapped read-write (MAP_NORESERVE) when a chunk is created: a
// page costs memory when a unit first writes it, and handing out space makes
// no system call, however many units there are.  The chunk's page bitmaps
// account for what was handed out (committed_per_unit) and say which pages
// map a module's image.

inline bool testPage(Bits bits, size_t p) { return testBit(bits, p); }
inline void setPage(Bits bits, size_t p) { setBit(bits, p); }
inline void clearPage(Bits bits, size_t p) { clearBit(bits, p); }

bool pageCommitted(const Chunk &c, size_t p) { return testPage(c.committed, p); }

// Huge pages for 2 MiB regions of the units that allocations cover whole
// (the units are MADV_NOHUGEPAGE otherwise: a huge page per unit for a
// small object would defeat committing as used).
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

// Accounts the pages covering [off, off + len) as handed out.  The pages it
// adds are fresh when `module` (a module block's own, which undoing its
// load may give back); pages already handed out stop being fresh: another
// block uses them now.
// CONTEXT: space.lock held (or the init lock, at start-up).
void commit(Chunk &c, size_t off, size_t len, bool module = false)
{
    size_t first = off / kPage, last = (off + len - 1) / kPage;
    size_t added = 0;
    for (size_t p = first; p <= last; ++p) {
        if (pageCommitted(c, p)) {
            clearPage(c.freshPages, p);
            continue;
        }
        setPage(c.committed, p);
        if (module)
            setPage(c.freshPages, p);
        else
            clearPage(c.freshPages, p);
        ++added;
    }
    c.committedPages += added;
    if (added && len >= kHugePage)
        adviseHuge(c, first, last);
}

// Of the pages the freed block [bg, bg + bn) touched, gives back to the
// kernel in every unit those that now lie wholly inside the free space
// [g, g + n) (n == 0: the virgin tail from g) and that the block committed
// itself (freshPages): pages handed out before the block stay as they were.
// Only the freed block's pages are looked at: the merged block can span a
// whole chunk.  The free block's tags, in unit 0, are kept.
// CONTEXT: space.lock held.
void decommitFree(Chunk &c, uint32_t bg, uint32_t bn, uint32_t g, uint32_t n)
{
    const bool tail = n == 0;
    const uint32_t freeEndGran = tail ? c.limit : g + n;
    size_t freeFirst = (size_t{g} * kGranule + kPage - 1) / kPage;
    size_t freeEnd = size_t{freeEndGran} * kGranule / kPage;
    size_t first = std::max(freeFirst, size_t{bg} * kGranule / kPage);
    size_t end = std::min(freeEnd, ((size_t{bg} + bn) * kGranule + kPage - 1) / kPage);
    auto givable = [&](size_t p) { return pageCommitted(c, p) && testPage(c.freshPages, p); };
    uint32_t saved[6] = {};
    if (!tail) {
        std::memcpy(saved, tag(c, g), 8);
        std::memcpy(saved + 2, tag(c, g + (n >= 2 ? 1 : 0)), 8);
        std::memcpy(saved + 4, tag(c, g + n - 1), 8);
    }
    bool gave = false;
    for (size_t p = first; p < end;) {
        if (!givable(p)) {
            ++p;
            continue;
        }
        size_t q = p;
        while (q + 1 < end && givable(q + 1))
            ++q;
        size_t bytes = (q - p + 1) * kPage;
        for (unsigned u = 0; u < space.cfg.nrUnits; ++u)
            madvise(reinterpret_cast<void *>(c.unit(u, space.cfg.stride) + p * kPage), bytes,
                    MADV_DONTNEED);
        for (size_t r = p; r <= q; ++r) {
            clearPage(c.committed, r);
            clearPage(c.freshPages, r);
        }
        c.committedPages -= q - p + 1;
        gave = true;
        p = q + 1;
    }
    if (gave && !tail) {
        std::memcpy(tag(c, g), saved, 8);
        std::memcpy(tag(c, g + (n >= 2 ? 1 : 0)), saved + 2, 8);
        std::memcpy(tag(c, g + n - 1), saved + 4, 8);
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
            else // as the rest of the unit: the mappings merge back into one
                madvise(at, bytes, MADV_NOHUGEPAGE);
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
    if (len <= 64 && len % 8 == 0 && off % 8 == 0) {
        // A small object (the common case): its words in every unit, read
        // without a call or an early exit so that the loads overlap.
        const size_t words = len / 8, stride = space.cfg.stride;
        uintptr_t at = c.base + off;
        for (unsigned u = 0; u < space.cfg.nrUnits; ++u, at += stride) {
            const auto *w = reinterpret_cast<const uint64_t *>(at);
            uint64_t any = 0;
            for (size_t i = 0; i < words; ++i)
                any |= w[i];
            if (any)
                std::memset(reinterpret_cast<void *>(at), 0, len);
        }
        return;
    }
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
    const size_t metaBytes = c->metaBytes;
    c->~Chunk();
    munmap(c, metaBytes);
}

// MPOL_PREFERRED for [off, off + len) of every unit: the unit's pages come
// from its CPU's node when it has memory, from elsewhere otherwise.
void bindToNodes(const Chunk &c, size_t off, size_t len)
{
    if (space.cfg.noNuma)
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

// Writes the `len` bytes of `src` at `at` in the file `fd`, skipping the
// pages that would hold only zeros: those stay holes.  A read fault on a
// file mapping also maps the neighbouring pages the file has in memory
// (fault-around, up to 64 KiB, which MADV_RANDOM does not turn off on
// Linux 6.x), so a file that holds only its non-zero pages keeps a read of
// every CPU's copy from mapping 16 pages per unit.
// RETURNS: whether every write succeeded.
bool writeSparse(int fd, const void *src, size_t at, size_t len)
{
    const auto *s = static_cast<const unsigned char *>(src);
    for (size_t done = 0; done < len;) {
        size_t pageEnd = (at + done) / kPage * kPage + kPage;
        size_t k = std::min(len - done, pageEnd - (at + done));
        if (!allZero(s + done, k) &&
            pwrite(fd, s + done, k, static_cast<off_t>(at + done)) != static_cast<ssize_t>(k))
            return false;
        done += k;
    }
    return true;
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
    if (ftruncate(fd, static_cast<off_t>(bytes)) == 0 && writeSparse(fd, src, at, len)) {
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

// Maps `bytes` (PROT_NONE unless `prot` says) at exactly `at`, or returns nullptr.  Kernels
// before 4.17 take MAP_FIXED_NOREPLACE as a hint: a mapping elsewhere is
// undone.
void *mapExactly(uintptr_t at, size_t bytes, int prot = PROT_NONE)
{
    if (at < (uintptr_t{1} << 20) || at + bytes < at)
        return nullptr;
    void *want = reinterpret_cast<void *>(at);
    void *p = mmap(want, bytes, prot,
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
// RETURNS: the units' base (mapped read-write), or 0 when no mapping could be made.
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
        if (mapExactly(tries[i], bytes, PROT_READ | PROT_WRITE))
            return tries[i];
    void *res = mapNoReserve(bytes + align, PROT_READ | PROT_WRITE);
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
    // The chunk's record and metadata in one mapping: the record, then the
    // page bitmaps' groups (on the record's page, for the first pages of a
    // unit), the granule bitmaps' groups, the call sites.
    const uint32_t nGran = static_cast<uint32_t>(stride / kGranule);
    const size_t granGroupBytes = groupBytes(nGran);
    const size_t pageGroupBytes = groupBytes(stride / kPage);
    const size_t recordBytes = (sizeof(Chunk) + 63) & ~size_t{63};
    const size_t siteBytes = space.cfg.recordSites ? size_t{nGran} * sizeof(uintptr_t) : 0;
    const size_t metaBytes = recordBytes + pageGroupBytes + granGroupBytes + siteBytes;
    auto *mem = static_cast<char *>(mapMetadata(metaBytes));
    if (!mem)
        return nullptr;
    Chunk *c = new (mem) Chunk();
    c->metaBytes = metaBytes;

    // Align units to a huge page when they are big enough to use one.  The
    // units are read-write from the start (chunk 0's are mapped so; a later
    // chunk's are made so inside its reservation); their pages cost memory
    // when first written.
    size_t align = std::min(stride, kHugePage);
    bool writable = false;
    if (first) {
        c->base = placeFirstUnits(unitsBytes, align);
        c->mapBase = c->base;
        c->mapBytes = unitsBytes;
        c->canon = space.cfg.staticStart & ~(kPage - 1);
        writable = true;
    } else if (!placeLaterChunk(*c, unitsBytes, align)) {
        c->base = 0;
    }
    if (!c->base) {
        destroyChunk(c);
        errno = ENOMEM;
        return nullptr;
    }
    // No huge pages unless a region is allocated whole.
    void *units = reinterpret_cast<void *>(c->base);
    if (!writable && mprotect(units, unitsBytes, PROT_READ | PROT_WRITE) != 0) {
        destroyChunk(c);
        errno = ENOMEM;
        return nullptr;
    }
    madvise(units, unitsBytes, MADV_NOHUGEPAGE);
    c->nGran = nGran;
    c->limit = c->nGran;
    c->nPages = stride / kPage;
    auto *pageGroups = reinterpret_cast<uint64_t *>(mem + recordBytes);
    c->committed = Bits{pageGroups};
    c->filePages = Bits{pageGroups + kLineWords};
    c->freshPages = Bits{pageGroups + 2 * kLineWords};
    auto *granGroups = reinterpret_cast<uint64_t *>(mem + recordBytes + pageGroupBytes);
    c->used = Bits{granGroups};
    c->start = Bits{granGroups + kLineWords};
    c->quick = Bits{granGroups + 2 * kLineWords};
    c->module = Bits{granGroups + 3 * kLineWords};
    if (siteBytes)
        c->site = reinterpret_cast<uintptr_t *>(mem + recordBytes + pageGroupBytes + granGroupBytes);
    for (auto &row : c->heads)
        std::fill(std::begin(row), std::end(row), kNil);
    std::fill(std::begin(c->quickHead), std::end(c->quickHead), kNil);
    bindToNodes(*c);
    return c;
}

// Carves [g, g + n) out of the free block starting at fg (size fn), which
// must contain it, and marks it with `state`.

// LeakSanitizer does not scan per-CPU memory by itself (the units are
// anonymous mappings it does not know of), and would report a heap
// pointer kept only in a per-CPU variable or object as leaked.  Each unit's
// used part is registered as a root region; the part grows by doubling as
// space is handed out (unregistering needs the exact region).
extern "C" void __lsan_register_root_region(const void *, size_t) __attribute__((weak));
extern "C" void __lsan_unregister_root_region(const void *, size_t) __attribute__((weak));

// The units registered: all of them up to 256; past that (a simulated
// machine, PERCPU_NR_CPUS), the real CPUs' only.  LeakSanitizer parses the
// process's mappings once per root region, so 4096 units cost minutes.
unsigned leakScanUnits()
{
    unsigned n = space.cfg.nrUnits;
    return n <= 256 ? n : std::min(n, std::max(space.cfg.realCpus, 256u));
}

// Makes LeakSanitizer scan [c.rootStart, end) of every unit of c: in
// chunk 0, from the reservation on (the static block is registered once by
// spaceInit; the offsets in between are the image's other data, never
// per-CPU), in the others from offset 0.
// CONTEXT: space.lock held (or the init lock).
void coverForLeaks(Chunk &c, size_t end)
{
    if (!__lsan_register_root_region || !__lsan_unregister_root_region ||
        end <= c.rootStart + c.rootBytes)
        return;
    size_t bytes = std::max<size_t>(c.rootBytes * 2, size_t{64} << 10);
    while (c.rootStart + bytes < end)
        bytes *= 2;
    bytes = std::min(bytes, space.cfg.stride - c.rootStart);
    for (unsigned u = 0; u < leakScanUnits(); ++u) {
        const void *at = reinterpret_cast<const void *>(c.unit(u, space.cfg.stride) + c.rootStart);
        if (c.rootBytes)
            __lsan_unregister_root_region(at, c.rootBytes);
        __lsan_register_root_region(at, bytes);
    }
    c.rootBytes = bytes;
}

// Marks [g, g + n) as a used block.
// CONTEXT: space.lock held.
void markUsed(Chunk &c, uint32_t g, uint32_t n)
{
    fillBits<true>(c.used, g, n);
    setBit(c.start, g);
}

// Carves [g, g + n) out of the free block starting at fg (size fn), which
// must contain it, and marks it used.
// CONTEXT: space.lock held.
void carve(Chunk &c, uint32_t fg, uint32_t fn, uint32_t g, uint32_t n)
{
    removeFree(c, fg, fn);
    if (g > fg)
        insertFree(c, fg, g - fg);
    if (fg + fn > g + n)
        insertFree(c, g + n, fg + fn - (g + n));
    markUsed(c, g, n);
}

// Carves [g, g + n) out of the virgin tail, which must hold it: the
// granules skipped to align g become a free block.
// CONTEXT: space.lock held.
void carveTail(Chunk &c, uint32_t g, uint32_t n)
{
    if (g > c.frontier)
        insertFree(c, c.frontier, g - c.frontier);
    c.frontier = g + n;
    markUsed(c, g, n);
}

// Allocates n granules aligned to a (granules, power of two) in chunk c:
// an exact-size quick block, else a good fit from the TLSF lists, else the
// virgin tail, else the lists again after the quick blocks are merged.
// CONTEXT: space.lock held.
// RETURNS: the first granule, or kNil when no free space of the chunk fits.
uint32_t allocIn(Chunk &c, uint32_t n, uint32_t a)
{
    if (a <= 1 && n <= kQuickMax && c.quickHead[n] != kNil) {
        uint32_t g = c.quickHead[n];
        c.quickHead[n] = tag(c, g)[0];
        clearGranule(c, g);
        clearBit(c.quick, g);
        c.quickGranules -= n;
        return g;
    }
    const uint64_t want = uint64_t{n} + (a > 1 ? a - 1 : 0);
    for (int pass = 0; pass < 2; ++pass) {
        uint32_t fg = findFree(c, want);
        if (fg != kNil) {
            uint32_t fn = tag(c, fg)[0];
            uint32_t g = (fg + a - 1) & ~(a - 1);
            carve(c, fg, fn, g, n);
            return g;
        }
        uint64_t g = (uint64_t{c.frontier} + a - 1) & ~uint64_t{a - 1};
        if (g + n <= c.limit) {
            carveTail(c, static_cast<uint32_t>(g), n);
            return static_cast<uint32_t>(g);
        }
        if (pass == 0 && c.quickGranules)
            flushQuick(c);
        else
            break;
    }
    return kNil;
}

std::atomic<bool> abortOnBadFree{false};

} // namespace
const SpaceConfig &spaceConfig() { return space.cfg; }

// Makes [from, to) of the image fault: PROT_NONE, or, under LeakSanitizer
// (which scans the image's writable segments and would fault there),
// poisoned for AddressSanitizer.
extern "C" void __lsan_ignore_object(const void *) __attribute__((weak));
extern "C" void __asan_poison_memory_region(const volatile void *, size_t) __attribute__((weak));
extern "C" void __asan_unpoison_memory_region(const volatile void *, size_t) __attribute__((weak));

// Linux 6.13 (anonymous memory) and 6.15 (file-backed private mappings):
// guard markers in the page tables, which fault as PROT_NONE does without
// splitting the mapping.  A shared object's template is guarded at every
// dlopen(); mprotect() would cost a VMA split there, and another VMA for
// dlclose() to unmap.  Older kernels answer EINVAL: mprotect() then.
constexpr int kMadvGuardInstall = 102;

void guardInImage(uintptr_t from, uintptr_t to, bool replace)
{
    if (to <= from)
        return;
    void *p = reinterpret_cast<void *>(from);
    if (__lsan_ignore_object) {
        if (__asan_poison_memory_region)
            __asan_poison_memory_region(p, to - from);
        return;
    }
    // A kernel without guard markers says so once: every dlopen() would
    // otherwise pay the failing call before mprotect().
    static std::atomic<bool> noGuardMarkers{false};
    if (replace) {
        mmap(p, to - from, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    } else if (noGuardMarkers.load(std::memory_order_relaxed) ||
               madvise(p, to - from, kMadvGuardInstall) != 0) {
        if (errno == EINVAL)
            noGuardMarkers.store(true, std::memory_order_relaxed);
        mprotect(p, to - from, PROT_NONE);
    }
}

void unguardInImage(uintptr_t from, uintptr_t to)
{
    if (to > from && __lsan_ignore_object && __asan_unpoison_memory_region)
        __asan_unpoison_memory_region(reinterpret_cast<void *>(from), to - from);
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

    if (config.staticSize) {
        commit(*c, off, config.staticSize);
        const void *image = reinterpret_cast<const void *>(config.staticStart);
        for (unsigned u = mapStaticCopyOnWrite(*c, off, config.staticSize, image); u < config.nrUnits; ++u)
            std::memcpy(reinterpret_cast<void *>(c->unit(u, config.stride) + off), image,
                        config.staticSize);
    }

    // Granules: [0, off) hole | static block | free to ownHi[0] | hole |
    // the reservation, the virgin tail | hole.  Holes and the static block
    // are used blocks; space is handed out from what chunk 0 owns only.
    const uint32_t staticG = static_cast<uint32_t>(off / kGranule), staticEnd = gran(end);
    const uint32_t own0End = std::max(staticEnd, static_cast<uint32_t>((c->ownHi[0] - canon) / kGranule));
    uint32_t tailG = own0End, tailEnd = own0End;
    if (c->ownLo[1]) {
        tailG = gran(c->ownLo[1] - canon);
        tailEnd = std::max(tailG, static_cast<uint32_t>((c->ownHi[1] - canon) / kGranule));
    }
    if (staticG > 0)
        markUsed(*c, 0, staticG);
    if (staticEnd > staticG) {
        markUsed(*c, staticG, staticEnd - staticG);
        space.usedGranules += staticEnd - staticG;
    }
    if (own0End > staticEnd) // the rest of the template's last page
        insertFree(*c, staticEnd, own0End - staticEnd);
    if (tailG > own0End)
        markUsed(*c, own0End, tailG - own0End);
    // Past the limit nothing is marked (that was a megabyte of bitmap, then
    // a page of it for a sentinel): nothing is handed out there, a block
    // merges right only below the frontier, and blockSize() stops at the
    // limit.
    c->frontier = tailG;
    c->limit = tailEnd;
    if (__lsan_register_root_region && std::max(staticEnd, own0End) > 0) // the static block,
        for (unsigned u = 0; u < leakScanUnits(); ++u)                     // its page's rest
            __lsan_register_root_region(reinterpret_cast<const void *>(c->unit(u, config.stride)),
                                        size_t{std::max(staticEnd, own0End)} * kGranule);
    c->rootStart = size_t{tailG} * kGranule / kPage * kPage;

    // The units hold the template now: its pages, and the reservation, fault.
    if (aligned && config.templateEnd == config.reserveStart) // one mapping for both
        guardInImage(config.staticStart, config.reserveEnd);
    else {
        if (aligned)
            guardInImage(config.staticStart, config.templateEnd);
        guardInImage(config.reserveStart, config.reserveEnd);
    }

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

// Prints, once, why a new chunk could not be mapped when the process is
// near vm.max_map_count (the usual cause with many chunks of many units).
void reportMapLimit()
{
    static std::atomic<bool> said{false};
    int e = errno;
    long limit = 0, maps = 0;
    if (FILE *f = fopen("/proc/sys/vm/max_map_count", "re")) {
        if (fscanf(f, "%ld", &limit) != 1)
            limit = 0;
        fclose(f);
    }
    if (FILE *f = fopen("/proc/self/maps", "re")) {
        for (int ch; (ch = getc(f)) != EOF;)
            maps += ch == '\n';
        fclose(f);
    }
    if (limit > 0 && maps + 64 >= limit && !said.exchange(true))
        fprintf(stderr,
                "percpu: cannot map another chunk of %u units: the process has %ld mappings, "
                "and vm.max_map_count is %ld (raise it: sysctl -w vm.max_map_count=%ld)\n",
                space.cfg.nrUnits, maps, limit, limit * 2);
    errno = e;
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

    LockGuard guard(space.lock);
    unsigned nChunks = space.nChunks.load(std::memory_order_relaxed);
    for (unsigned i = 0;; ++i) {
        if (i == nChunks) {
            if (nChunks == kMaxChunks) {
                errno = ENOMEM;
                return nullptr;
            }
            Chunk *c = createChunk(false);
            if (!c) {
                reportMapLimit();
                return nullptr;
            }
            space.chunks[nChunks] = c;
            space.nChunks.store(++nChunks, std::memory_order_release);
        }
        Chunk &c = *space.chunks[i];
        uint32_t g = allocIn(c, n, a);
        if (g == kNil)
            continue;
        size_t off = size_t{g} * kGranule;
        commit(c, off, size, owner == Owner::Module);
        coverForLeaks(c, off + size);
        space.usedGranules += n;
        if (c.site)
            c.site[g] = site;
        if (owner == Owner::Module) {
            setBit(c.module, g);
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

static bool inStaticBlock(uintptr_t p)
{
    return p - space.cfg.staticStart < space.cfg.staticSize;
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
    if (c == space.chunks[0] && inStaticBlock(p))
        return fail("%p is the host's static per-CPU block, not an allocation", canonical);
    size_t off = p - c->canon;
    if (off % kGranule)
        return fail("%p is not the start of a per-CPU allocation (offset 0x%zx)", canonical, off);
    uint32_t g = static_cast<uint32_t>(off / kGranule);
    if (!testBit(c->used, g))
        return fail("double free of %p (offset 0x%zx, already free)", canonical, off);
    if (!testBit(c->start, g))
        return fail("%p is not the start of a live per-CPU allocation (offset 0x%zx; "
                    "double free or interior pointer)",
                    canonical, off);
    uint32_t n = c->blockSize(g);
    if (testBit(c->quick, g))
        return fail("double free of %p (offset 0x%zx, %u bytes, already free)", canonical, off,
                    n * kGranule);
    const bool isModule = testBit(c->module, g);
    if (isModule != (owner == Owner::Module))
        return fail("%p is a %s, not a %s", canonical,
                    isModule ? "module per-CPU block" : "pcpu_alloc() object",
                    owner == Owner::Module ? "module per-CPU block" : "pcpu_alloc() object");

    size_t bytes = size_t{n} * kGranule;
    zeroInEveryUnit(*c, off, bytes);
    space.usedGranules -= n;
    if (isModule) {
        clearBit(c->module, g);
        space.moduleBytes -= bytes;
        --space.moduleCount;
        // Module blocks are rare and large: merge at once; when asked (a
        // failed load being undone), give whole pages back so that the
        // units' memory is exactly as before.
        auto [fg, fn] = releaseBlock(*c, g, n);
        if (givePagesBack) {
            decommitFree(*c, g, n, fg, fn);
        } else { // an unloaded module's pages stay for what comes next
            for (size_t q = off / kPage; q <= (off + bytes - 1) / kPage; ++q)
                clearPage(c->freshPages, q);
        }
        return 0;
    }
    space.dynamicBytes -= bytes;
    --space.dynamicCount;
    if (n <= kQuickMax) {
        setBit(c->quick, g);
        tag(*c, g)[0] = c->quickHead[n];
        c->quickHead[n] = g;
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
    uint32_t g = static_cast<uint32_t>(off / kGranule);
    if (!c || off % kGranule || !testBit(c->used, g) || !testBit(c->start, g) ||
        !testBit(c->module, g) || size_t{c->blockSize(g)} * kGranule < size) {
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

// CONTEXT: takes space.lock.  RETURNS: see runtime.h.
int spaceAdoptCopy(uintptr_t canonical, const void *image, size_t size)
{
    LockGuard guard(space.lock);
    if (space.nChunks.load(std::memory_order_relaxed) == 0 || size == 0) {
        errno = EINVAL;
        return -1;
    }
    Chunk &c = *space.chunks[0];
    if (canonical < c.canon || canonical + size > c.canon + space.cfg.stride) {
        errno = ERANGE;
        return -1;
    }
    for (int i = 0; i < 2; ++i)
        if (c.ownHi[i] > c.ownLo[i] && canonical < c.ownHi[i] && canonical + size > c.ownLo[i]) {
            errno = EEXIST;
            return -1;
        }
    const size_t off = canonical - c.canon;
    for (unsigned u = 0; u < space.cfg.nrUnits; ++u)
        std::memcpy(reinterpret_cast<void *>(c.unit(u, space.cfg.stride) + off), image, size);
    return 0;
}

// CONTEXT: any, lock-free.  RETURNS: see runtime.h.
bool spaceInRange(const void *canonical)
{
    uintptr_t p = reinterpret_cast<uintptr_t>(canonical);
    unsigned n = space.nChunks.load(std::memory_order_acquire);
    for (unsigned i = 0; i < n; ++i)
        if (p - space.chunks[i]->canon < space.cfg.stride)
            return true;
    return false;
}

// CONTEXT: any, lock-free.  RETURNS: see runtime.h.
size_t spaceUnitOffset(const void *canonical)
{
    uintptr_t p = reinterpret_cast<uintptr_t>(canonical);
    unsigned n = space.nChunks.load(std::memory_order_acquire);
    for (unsigned i = 0; i < n; ++i)
        if (space.chunks[i]->owns(p))
            return p - space.chunks[i]->canon;
    return 0;
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
        out = SpaceBlock{};
        if (i == 0 && inStaticBlock(p)) { // the block as the host linked it
            out.live = true;
            out.owner = Owner::Static;
            out.start = space.cfg.staticStart;
            out.bytes = space.cfg.staticSize;
            return true;
        }
        uint32_t g = static_cast<uint32_t>((p - c.canon) / kGranule);
        if (!testBit(c.used, g)) { // free space
            out.start = p & ~uintptr_t{kGranule - 1};
            out.bytes = kGranule;
            return true;
        }
        size_t s = scanBackward(c.start, g);
        if (s == SIZE_MAX)
            return true;
        uint32_t sg = static_cast<uint32_t>(s);
        out.start = c.canon + size_t{sg} * kGranule;
        out.bytes = size_t{c.blockSize(sg)} * kGranule;
        out.live = !testBit(c.quick, sg);
        out.owner = testBit(c.module, sg) ? Owner::Module : Owner::Dynamic;
        out.site = (out.owner == Owner::Dynamic && c.site) ? c.site[sg] : 0;
        return true;
    }
    return false;
}

// The allocator's memory for chunk c: its record, and the pages of its
// bitmaps that space handed out has written (the bitmaps are reserved whole
// and read as the shared zero page elsewhere).  The granule bitmaps hold a
// page per 256 KiB of offsets: count three of them (used, start, quick) for
// each 64 unit pages handed out, a page of `module` for each module block,
// and the page bitmaps' and the guard's site words as far as space was used.
// CONTEXT: space.lock held.
static size_t metadataBytes(const Chunk &c)
{
    size_t groups = 0;
    for (size_t w = 0; w < (c.nPages + 63) / 64; ++w)
        groups += c.committed[w] != 0;
    size_t bytes = sizeof(Chunk) + groups * 3 * kPage;
    bytes += std::min(groups, (c.nPages + 63) / 64) * 3 * sizeof(uint64_t);
    if (c.site)
        bytes += groups * 64 * kPage / kGranule * sizeof(uintptr_t);
    return bytes;
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
    size_t pages = 0, meta = 0;
    for (unsigned i = 0; i < n; ++i) {
        const Chunk &c = *space.chunks[i];
        pages += c.committedPages;
        meta += metadataBytes(c);
    }
    st->committed_per_unit = pages * kPage;
    st->committed_bytes = st->committed_per_unit * space.cfg.nrUnits;
    st->reserved_bytes = size_t{n} * space.cfg.nrUnits * space.cfg.stride;
    st->metadata_bytes = meta + space.moduleCount * kPage;
}

bool badFreeAborts() { return abortOnBadFree.load(std::memory_order_relaxed); }

} // namespace percpu::rt
