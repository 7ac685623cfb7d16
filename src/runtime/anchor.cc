// Chunk 0's canonical addresses when the program has no per-CPU block of
// its own (core.cc's anchorImage): 16 MiB of the shared runtime's .bss,
// address space only (start-up makes it inaccessible).
//
// Alone in this file, linked last: the linker lays .bss out in input order,
// so the runtime's other zero-initialised data (the registry, the CPU
// masks, the start-up state) all comes before it, on a few neighbouring
// pages, and a process's first use of the runtime faults those in once
// instead of on both sides of the anchor.
#include "runtime.h"

extern "C" {
alignas(PCPU_PAGE_BYTES) __attribute__((visibility("hidden"))) char pcpu__anchor_space[percpu::rt::kAnchorBytes];
}
