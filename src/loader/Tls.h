//===- Tls.h - thread-local storage of modules ----------------------------===//
//
// A module's thread-local data (.tdata/.tbss) gets no static reserve: each
// thread's block for it is made at the thread's first access (threads that
// existed before the load included), freed when the thread exits, and every
// thread's block is freed when the module unloads.  Module code reaches it
// through glibc's interfaces, so compilers need no option:
//
//   general and local dynamic   `__tls_get_addr(&pair)` resolves to
//                               pcpu_tls_get_addr: a pair whose module word
//                               has kModuleTag is a module's (the rest is
//                               its slot), any other is glibc's, passed on
//   TLS descriptors             {pcpu_tlsdesc_dynamic, &pair} (arch/<arch>/
//                               tlsdesc.S), or for a symbol in glibc's static
//                               TLS {pcpu_tlsdesc_return, thread-pointer offset}
//   initial exec                only a symbol in glibc's static TLS (libc's
//                               errno): its fixed thread-pointer offset
//
// Each thread holds its blocks in `pcpu_thread_tls` (initial-exec TLS of the
// image that links the loader): the fast path is two thread-pointer-relative
// loads, a bounds check and a load, without a lock.  One mutex (not the
// loader's) guards the slots and the list of threads, taken only on a slow
// path, at unload and at thread exit.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_LOADER_TLS_H
#define PERCPU_LOADER_TLS_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

extern "C" {
// glibc's tls_index: what a GD/LD pair holds and __tls_get_addr reads.
struct pcpu_tls_index {
    uint64_t module;
    uint64_t offset;
};
// The thread's blocks, by slot (the fields the arch's descriptor resolvers
// read at offsets 0 and 8).
struct pcpu_thread_blocks {
    uint64_t n;
    void **blocks;
    pcpu_thread_blocks *prev, *next; // the list of threads with blocks
    bool listed;
};
extern thread_local pcpu_thread_blocks pcpu_thread_tls __attribute__((tls_model("initial-exec")));
// What module code calls as __tls_get_addr.
void *pcpu_tls_get_addr(pcpu_tls_index *ti);
// TLS descriptor functions (arch/<arch>/tlsdesc.S): the descriptor is
// {function, argument}; the argument is the pair's address (dynamic) or the
// thread-pointer offset (return).
void pcpu_tlsdesc_dynamic(void);
void pcpu_tlsdesc_return(void);
}

namespace percpu::loader::tls {

constexpr uint64_t kModuleTag = uint64_t{1} << 63;

// A slot for a module's TLS template (none is live until publish()), or 0
// when no more can be had.
uint32_t reserve();
// The template threads copy their block from: `init` (the relocated .tdata
// image, kept by the module) then zeros up to `size`, aligned to `align`.
void publish(uint32_t slot, const uint8_t *init, size_t initSize, size_t size, size_t align);
// Frees every thread's block of `slot` and gives the slot back.
void release(uint32_t slot);

struct Stats {
    size_t blocks = 0; // live blocks, all threads and modules
    size_t bytes = 0;  // their size
};
Stats stats();
// Blocks live for `slot`.
size_t blocksOf(uint32_t slot);

// A thread-local symbol of the process (the program or a shared library):
// glibc's module id and offset, and where the symbol is in glibc's static
// TLS its offset from the thread pointer.
struct ProcessSymbol {
    uint64_t module = 0, offset = 0;
    std::optional<int64_t> tpOffset;
    std::string object; // the file that defines it ("" for the program)
    bool inModule = false; // a PCPU_RTLD_GLOBAL module's (object is its name)
};
std::optional<ProcessSymbol> processSymbol(const char *name);

} // namespace percpu::loader::tls

#endif
