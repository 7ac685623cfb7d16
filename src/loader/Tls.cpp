//===- Tls.cpp - thread-local storage of modules: blocks as threads need them ===//
//
// See Tls.h for the model.  The slots, the list of threads with blocks and
// the counts live under one mutex (never the loader's: a thread's first
// access may come from module code while another thread loads).
//===----------------------------------------------------------------------===//
#include "Tls.h"

#include "HostTarget.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

extern "C" {
constinit thread_local pcpu_thread_blocks pcpu_thread_tls __attribute__((tls_model("initial-exec"))) = {};
// glibc's, for the pairs of the process's own modules (ld.so exports it).
void *__tls_get_addr(pcpu_tls_index *);
}

namespace percpu::loader::tls {
namespace {

struct Template {
    const uint8_t *init = nullptr;
    size_t initSize = 0, size = 0, align = 1;
    bool reserved = false, live = false;
    size_t blocks = 0; // live blocks of this slot, all threads
};

struct Registry {
    std::mutex lock;
    std::vector<Template> slots{1}; // slot 0 is never used
    pcpu_thread_blocks *threads = nullptr;
    size_t blocks = 0, bytes = 0;
    pthread_key_t key{};
    bool keyMade = false;
};

Registry &registry()
{
    static Registry *r = new Registry(); // never destroyed: threads may exit after statics
    return *r;
}

void unlinkThread(Registry &r, pcpu_thread_blocks &t)
{
    if (!t.listed)
        return;
    (t.prev ? t.prev->next : r.threads) = t.next;
    if (t.next)
        t.next->prev = t.prev;
    t.prev = t.next = nullptr;
    t.listed = false;
}

void freeBlock(Registry &r, uint64_t slot, void *&block)
{
    if (!block)
        return;
    free(block);
    block = nullptr;
    --r.blocks;
    r.bytes -= r.slots[slot].size;
    --r.slots[slot].blocks;
}

// At thread exit (a pthread key's destructor, after the thread's
// thread_local destructors, __cxa_thread_atexit's included, have run).
void threadExit(void *p)
{
    auto &t = *static_cast<pcpu_thread_blocks *>(p);
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.lock);
    for (uint64_t k = 0; k < t.n; ++k)
        freeBlock(r, k, t.blocks[k]);
    free(t.blocks);
    t.blocks = nullptr;
    t.n = 0;
    unlinkThread(r, t);
}

[[noreturn]] void fatal(const char *what, uint64_t slot)
{
    fprintf(stderr, "percpu: thread-local data of module slot %llu: %s\n",
            static_cast<unsigned long long>(slot), what);
    abort();
}

// The thread's block for `slot`, made now (under the lock).
void *slowPath(uint64_t slot, uint64_t offset)
{
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.lock);
    if (slot >= r.slots.size() || !r.slots[slot].live)
        fatal("the module is not loaded (a thread-local variable used after pcpu_dlclose)", slot);
    pcpu_thread_blocks &t = pcpu_thread_tls;
    if (!t.listed) {
        if (pthread_setspecific(r.key, &t) != 0)
            fatal("cannot register the thread's exit handler", slot);
        t.next = r.threads;
        t.prev = nullptr;
        if (r.threads)
            r.threads->prev = &t;
        r.threads = &t;
        t.listed = true;
    }
    if (slot >= t.n) {
        uint64_t n = std::max<uint64_t>({slot + 1, t.n * 2, 8});
        auto **grown = static_cast<void **>(calloc(n, sizeof(void *)));
        if (!grown)
            fatal("out of memory", slot);
        if (t.n)
            memcpy(grown, t.blocks, t.n * sizeof(void *));
        free(t.blocks);
        t.blocks = grown;
        t.n = n;
    }
    const Template &tpl = r.slots[slot];
    if (!t.blocks[slot]) {
        const size_t align = std::max<size_t>(tpl.align, sizeof(void *));
        const size_t size = (std::max<size_t>(tpl.size, 1) + align - 1) / align * align;
        void *b = aligned_alloc(align, size);
        if (!b)
            fatal("out of memory", slot);
        if (tpl.initSize)
            memcpy(b, tpl.init, tpl.initSize);
        memset(static_cast<char *>(b) + tpl.initSize, 0, size - tpl.initSize);
        t.blocks[slot] = b;
        ++r.blocks;
        r.bytes += tpl.size;
        ++r.slots[slot].blocks;
    }
    return static_cast<char *>(t.blocks[slot]) + offset;
}

} // namespace

uint32_t reserve()
{
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.lock);
    if (!r.keyMade) {
        if (pthread_key_create(&r.key, threadExit) != 0)
            return 0;
        r.keyMade = true;
        loader::hostTarget().prepareTlsDescriptors();
    }
    for (uint32_t k = 1; k < r.slots.size(); ++k)
        if (!r.slots[k].reserved) {
            r.slots[k] = Template{};
            r.slots[k].reserved = true;
            return k;
        }
    r.slots.emplace_back();
    r.slots.back().reserved = true;
    return static_cast<uint32_t>(r.slots.size() - 1);
}

void publish(uint32_t slot, const uint8_t *init, size_t initSize, size_t size, size_t align)
{
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.lock);
    Template &t = r.slots[slot];
    t.init = init;
    t.initSize = initSize;
    t.size = size;
    t.align = align;
    t.live = true;
}

void release(uint32_t slot)
{
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.lock);
    if (slot == 0 || slot >= r.slots.size())
        return;
    for (pcpu_thread_blocks *t = r.threads; t; t = t->next)
        if (slot < t->n)
            freeBlock(r, slot, t->blocks[slot]);
    r.slots[slot] = Template{};
}

Stats stats()
{
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.lock);
    return {r.blocks, r.bytes};
}

size_t blocksOf(uint32_t slot)
{
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.lock);
    return slot < r.slots.size() ? r.slots[slot].blocks : 0;
}

std::optional<ProcessSymbol> processSymbol(const char *name)
{
    // dlsym gives a thread-local symbol's address in the calling thread
    // (making glibc's block for it if needed); the object whose block holds
    // it gives the module id and the offset.
    void *p = dlsym(RTLD_DEFAULT, name);
    if (!p)
        return std::nullopt;
    struct Search {
        uintptr_t addr;
        std::optional<ProcessSymbol> found;
    } search{reinterpret_cast<uintptr_t>(p), std::nullopt};
    dl_iterate_phdr(
        [](dl_phdr_info *info, size_t, void *arg) {
            auto &s = *static_cast<Search *>(arg);
            if (!info->dlpi_tls_modid || !info->dlpi_tls_data)
                return 0;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const auto &ph = info->dlpi_phdr[i];
                const auto data = reinterpret_cast<uintptr_t>(info->dlpi_tls_data);
                if (ph.p_type != PT_TLS || s.addr - data >= std::max<uint64_t>(ph.p_memsz, 1))
                    continue;
                ProcessSymbol sym;
                sym.module = info->dlpi_tls_modid;
                sym.offset = s.addr - data;
                sym.object = info->dlpi_name ? info->dlpi_name : "";
                s.found = sym;
                return 1;
            }
            return 0;
        },
        &search);
    if (!search.found)
        return std::nullopt;
    // In glibc's static TLS (what the program and the libraries it was
    // linked with have), the offset from the thread pointer is the same in
    // every thread; sanitizers read the static TLS's extent the same way.
    using StaticInfo = void (*)(size_t *, size_t *);
    static auto staticInfo = reinterpret_cast<StaticInfo>(dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info"));
    if (staticInfo) {
        size_t size = 0, align = 0;
        staticInfo(&size, &align);
        const uintptr_t tp = loader::hostTarget().threadPointer();
        const uintptr_t a = search.addr;
        const bool isStatic = loader::hostTarget().staticTlsBelow ? a < tp && tp - a <= size
                                                                  : a >= tp && a - tp < size;
        if (isStatic)
            search.found->tpOffset = static_cast<int64_t>(a - tp);
    }
    return search.found;
}

} // namespace percpu::loader::tls

extern "C" void *pcpu_tls_get_addr(pcpu_tls_index *ti)
{
    using namespace percpu::loader::tls;
    const uint64_t module = ti->module;
    if (__builtin_expect(!(module & kModuleTag), 0))
        return __tls_get_addr(ti);
    const uint64_t slot = module & ~kModuleTag;
    pcpu_thread_blocks &t = pcpu_thread_tls;
    if (__builtin_expect(slot < t.n, 1))
        if (void *b = t.blocks[slot])
            return static_cast<char *>(b) + ti->offset;
    return slowPath(slot, ti->offset);
}
