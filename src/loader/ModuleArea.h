//===- ModuleArea.h - address space for modules, near the host ------------===//
//
// Part of the loader (Internal.h).  Modules are mapped here, within 32-bit
// reach of the host's image, like the kernel's module space.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_LOADER_MODULEAREA_H
#define PERCPU_LOADER_MODULEAREA_H

#include "llvm/Support/MathExtras.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <sys/mman.h>
#include <vector>

extern "C" {
// Linker-defined bounds of the executable (GNU ld and ld.lld).
extern char __executable_start[] __attribute__((weak, visibility("hidden")));
extern char _end[] __attribute__((weak, visibility("hidden")));
}

namespace percpu::loader {

constexpr uint64_t kPage = 4096;
// Where PLT and far-access stubs start: a 16-byte boundary, the instruction
// fetch block of both architectures' cores (Intel's and Arm's optimisation
// manuals align branch targets so).
constexpr uint64_t kStubAlign = 16;
constexpr uint64_t kAreaSize = uint64_t{512} << 20;

class ModuleArea {
public:
    // Reserves the area on first use; false when none could be placed near.
    bool ready()
    {
        if (tried_)
            return base_ != 0;
        tried_ = true;
        uintptr_t anchor = reinterpret_cast<uintptr_t>(_end ? _end : __executable_start);
        if (!anchor)
            return false;
        uintptr_t start = reinterpret_cast<uintptr_t>(__executable_start);
        // Candidates within 32-bit reach of the image (and of the first
        // per-CPU chunk, which is addressed from __per_cpu_start): above the
        // image in 64 MiB steps (skipping the brk heap, randomised up to
        // 1 GiB above it), then below it.
        std::vector<uintptr_t> candidates;
        for (uint64_t gap = uint64_t{64} << 20; gap + kAreaSize <= (uint64_t{1400} << 20); gap += uint64_t{64} << 20)
            candidates.push_back(llvm::alignTo(anchor, 2 << 20) + gap);
        for (uint64_t gap = uint64_t{64} << 20; gap + kAreaSize <= (uint64_t{1400} << 20); gap += uint64_t{64} << 20)
            if (start > gap + kAreaSize)
                candidates.push_back(alignDown(start, 2 << 20) - gap - kAreaSize);
        for (uintptr_t c : candidates) {
            void *p = mmap(reinterpret_cast<void *>(c), kAreaSize, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
            if (p == MAP_FAILED)
                continue;
            if (reinterpret_cast<uintptr_t>(p) != c) { // kernels without MAP_FIXED_NOREPLACE
                munmap(p, kAreaSize);
                continue;
            }
            base_ = c;
            free_[0] = kAreaSize;
            return true;
        }
        return false;
    }

    // Maps `size` bytes read-write (and zeroed) in the area; 0 when full.
    // `reused` says whether they come from the cache of unloaded modules.
    uintptr_t allocate(uint64_t size, bool &reused)
    {
        reused = false;
        if (!ready())
            return 0;
        auto cached = cache_.find(size);
        if (cached != cache_.end()) {
            uintptr_t addr = cached->second;
            cache_.erase(cached);
            cachedBytes_ -= size;
            std::memset(reinterpret_cast<void *>(addr), 0, size);
            reused = true;
            return addr;
        }
        for (auto it = free_.begin(); it != free_.end(); ++it) {
            if (it->second < size)
                continue;
            uint64_t off = it->first, len = it->second;
            free_.erase(it);
            if (len > size)
                free_[off + size] = len - size;
            void *p = mmap(reinterpret_cast<void *>(base_ + off), size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            if (p == MAP_FAILED) {
                giveBack(base_ + off, size, false);
                return 0;
            }
            return base_ + off;
        }
        return 0;
    }

    bool contains(uintptr_t addr) const { return base_ && addr - base_ < kAreaSize; }

    // Takes a mapping back.  An unloaded module's (`keep`) stays mapped
    // read-write (never executable) in a cache for the next load of that
    // size, up to kCacheBytes; otherwise the pages become PROT_NONE again.
    // A failed load's mapping returns to exactly where it came from.
    void release(uintptr_t addr, uint64_t size, bool keep, bool reused)
    {
        if ((keep && cachedBytes_ + size <= kCacheBytes) || (!keep && reused)) {
            mprotect(reinterpret_cast<void *>(addr), size, PROT_READ | PROT_WRITE);
            cache_.emplace(size, addr);
            cachedBytes_ += size;
            return;
        }
        giveBack(addr, size, true);
    }

private:
    // Returns pages to the area's free list (PROT_NONE again when `remap`,
    // contents discarded).
    void giveBack(uintptr_t addr, uint64_t size, bool remap)
    {
        if (remap)
            mmap(reinterpret_cast<void *>(addr), size, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
        uint64_t off = addr - base_;
        auto next = free_.lower_bound(off);
        if (next != free_.end() && off + size == next->first) {
            size += next->second;
            next = free_.erase(next);
        }
        if (next != free_.begin()) {
            auto prev = std::prev(next);
            if (prev->first + prev->second == off) {
                prev->second += size;
                return;
            }
        }
        free_[off] = size;
    }

    static uintptr_t alignDown(uintptr_t x, uintptr_t a) { return x & ~(a - 1); }
    bool tried_ = false;
    uintptr_t base_ = 0;
    std::map<uint64_t, uint64_t> free_; // offset -> size
    static constexpr uint64_t kCacheBytes = uint64_t{8} << 20;
    std::multimap<uint64_t, uintptr_t> cache_; // size -> address, read-write
    uint64_t cachedBytes_ = 0;
};

} // namespace percpu::loader

#endif
