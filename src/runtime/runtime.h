// Internal interface between the runtime's parts (not installed).
//
//   core.cc   start-up, environment, CPU numbers (rseq), slow paths, stats
//   cpus.cc   the machine's CPUs from sysfs (possible, online, present, nodes)
//   space.cc  the per-CPU address space: chunks of units, the offset
//             allocator behind pcpu_alloc() and module blocks, commit/zeroing
//   guard.cc  the fault handler that names a dereferenced canonical address
//   lock.h    the small futex lock both use
//   arch/<arch>/fault.cc   what the guard reads from a signal's context
//
// Error policy: functions return -1/nullptr with errno set; they print a
// diagnostic only where the public API says so (bad free, start-up failure).
#ifndef PERCPU_RUNTIME_RUNTIME_H
#define PERCPU_RUNTIME_RUNTIME_H

#include <percpu/percpu.h>

#include <cstddef>
#include <cstdint>

namespace percpu::rt {

// The shared runtime's canonical space for chunk 0 when the program has no
// per-CPU block (anchor.cc).
constexpr size_t kAnchorBytes = size_t{16} << 20;

// Who a block of per-CPU space belongs to (kept in the allocator's headers).
enum class Owner : uint32_t { Dynamic = 0, Module = 1, Static = 2 };

struct SpaceConfig {
    unsigned nrUnits = 0;
    unsigned realCpus = 0;       // the machine's possible CPUs (nrUnits may simulate more)
    size_t stride = 0;           // power of two
    uintptr_t staticStart = 0;   // __per_cpu_start
    size_t staticSize = 0;       // __per_cpu_end - __per_cpu_start
    bool noNuma = false;         // do not bind units to their CPU's node (>1 node)
    // From percpu.ld (0 when the host was linked with an older fragment):
    uintptr_t templateEnd = 0;   // __per_cpu_page_end: the template's page end
    uintptr_t reserveStart = 0;  // __per_cpu_canon_start/end: the NOLOAD
    uintptr_t reserveEnd = 0;    //   reservation for chunk 0's canonical range
    uintptr_t imageStart = 0;    // the executable's first and last byte
    uintptr_t imageEnd = 0;
    bool recordSites = false;    // keep pcpu_alloc()'s caller for the guard
};

// Maps the first chunk, places the static block, copies it into every unit
// and fills pcpu_unit_offset[].  Called once, under the init lock.
int spaceInit(const SpaceConfig &config);

// Allocates `size` bytes (alignment `align`, a power of two <= a page) in
// every unit, zeroed.  Returns the canonical pointer or nullptr + errno.
// `site` (the caller, for the guard's message) is kept when recordSites.
void *spaceAlloc(size_t size, size_t align, Owner owner, uintptr_t site = 0);

// Frees a block allocated with `owner`.  Returns 0, or -1 + errno with a
// message in `why` (static storage or the caller's buffer) describing the
// problem.
// With `givePagesBack`, committed pages left wholly free are made
// inaccessible again (used to undo a failed module load exactly).
int spaceFree(void *canonical, Owner owner, char *why, size_t whyLen, bool givePagesBack = false);

// Sets every unit's copy of a module block's first `size` bytes to `image`:
// its whole pages become copy-on-write mappings of one image (PERCPU_COW),
// the rest is copied.  Returns 0, or -1 with errno EINVAL when `canonical` is
// not a live module block of at least `size` bytes.
int spaceFillImage(void *canonical, const void *image, size_t size);
// Adds the space's figures to *st.
void spaceStats(pcpu_stats *st);

// Whether `canonical` is a canonical address some chunk owns (any state).
// Lock-free; usable from a signal handler.
bool spaceContains(const void *canonical);

// For the guard's fault handler: whether `a` lies in the guarded template of
// a registered shared object, described into buf ("the template of PATH's
// per-CPU data (+0xOFF, variable `NAME`)").  Never waits for the registry
// lock: false when it is held (shared.cc).
bool describeSharedTemplate(uintptr_t a, char *buf, size_t len);

// A per-CPU variable of a shared object that the program copied into its
// own data (a copy relocation: the program names it directly, the object
// and everyone else reach the copy through the GOT) keeps the copy's address
// as its canonical address: it lies in chunk 0's canonical range, in a hole
// (the program's other data), whose offsets in the units are never handed
// out.  Copies `image` into every unit there.  RETURNS 0, or -1 with errno
// ERANGE (outside chunk 0's range) or EEXIST (inside what chunk 0 owns).
int spaceAdoptCopy(uintptr_t canonical, const void *image, size_t size);

// Whether `canonical` lies in some chunk's canonical range (owned or not:
// chunk 0's holes hold the program's other data, and the copies of
// variables the program copied from shared objects).  Lock-free.
bool spaceInRange(const void *canonical);

// The offset of canonical address `p` in its unit (the same in every unit),
// or 0 when no chunk owns it.  Lock-free.
size_t spaceUnitOffset(const void *canonical);

// What the canonical address `p` is, for the guard's message (lock-free,
// racy reads: for a dying process).  Returns false when no chunk owns p.
struct SpaceBlock {
    Owner owner = Owner::Dynamic;
    bool live = false;       // false: free space, or a hole
    uintptr_t start = 0;     // the block's canonical start
    size_t bytes = 0;
    uintptr_t site = 0;      // pcpu_alloc()'s caller, when recorded
};
bool spaceDescribe(uintptr_t p, SpaceBlock &out);

// The guard (guard.cc): installs the fault handler when PERCPU_GUARD asks
// for it.  Called once from start-up, after spaceInit().
void guardInit();
bool guardEnabled();

// The faulting instruction and the direction of the access, read from a
// SIGSEGV/SIGBUS handler's ucontext_t (`ucontext`): what differs by
// architecture in the guard, implemented in arch/<arch>/fault.cc (the build
// links the host's).  Async-signal-safe.
struct FaultAccess {
    uintptr_t pc = 0; // 0: unknown
    int write = -1;   // 1 write, 0 read, -1 unknown
};
FaultAccess faultAccess(const void *ucontext);

// Makes [from, to), a page range of a loaded image whose contents now live
// in the units (a template), fault on access (under LeakSanitizer, which
// reads every writable segment: poisoned instead); unguardInImage() undoes
// the poisoning before the image is unmapped (space.cc).  `replace` maps
// fresh inaccessible pages there (the image's pages are given back: the
// program's, for good), else the pages get guard markers (a shared
// object's, which dlclose() unmaps; PROT_NONE on kernels without them).
void guardInImage(uintptr_t from, uintptr_t to, bool replace = true);
void unguardInImage(uintptr_t from, uintptr_t to);

// Shared objects' blocks (shared.cc): the export record for `name` in the
// registered objects' tables, or nullptr; each registered object's path,
// block and size, newest first; and the check, at start-up, that no other
// copy of the runtime is in the process (stops it with a message if one is).
const pcpu_export *sharedExport(const char *name);
int sharedBlocks(int (*fn)(const pcpu_block_info *info, void *arg), void *arg);
// Module block names (pcpu_module_block_name): forgotten when freed.
void forgetBlockName(const void *canonical);
void checkOneRuntime();
// The program's path (buf, or a fixed name when it cannot be read).
const char *programPath(char *buf, size_t len);

// The configuration given to spaceInit (valid after it).
const SpaceConfig &spaceConfig();

// Slow-path helpers shared with pool.cc (core.cc): initialise if needed; make
// this thread's rseq area usable (false: the atomic fallback is in use); the
// number of real possible CPUs; an operation done atomically at address p.
void initialize();
bool prepareRseqThread();
// The CPU in this thread's rseq area at the process's offset (what the
// counter and ref fast paths read); negative when there is none.
int rseqCpu();
unsigned realCpuCount();
uint64_t atomicOpAt(int op, void *p, unsigned size, uint64_t v, uint64_t v2);

// The machine's CPUs (cpus.cc).  possibleCpus: the possible CPUs' count
// (highest + 1; _SC_NPROCESSORS_CONF when sysfs says nothing), at most
// PCPU_MAX_CPUS.  readCpuList: a sysfs CPU list file into `bits`
// (PCPU_MAX_CPUS bits), RETURNS 0, or -1 when the file could not be read,
// with every CPU below `limit` set then.  readOnlineCpus: the online CPUs
// into `bits` as readCpuList does, given the possible ones' count (without
// sysfs when this thread may run on every possible CPU).  readCpuNodes: each CPU's NUMA node
// into node[PCPU_MAX_CPUS] (-1 unknown), RETURNS whether the machine has more
// than one node (node[] is left untouched when it has not).
unsigned possibleCpus();
// Word `w` of a CPU mask holding CPUs [0, n).
constexpr uint64_t maskWordBelow(unsigned n, size_t w)
{
    if (n >= (w + 1) * 64)
        return ~uint64_t{0};
    if (n <= w * 64)
        return 0;
    return (uint64_t{1} << (n - w * 64)) - 1;
}
// Whether a CPU mask (PCPU_MAX_CPUS bits) holds exactly CPUs [0, n).
constexpr bool maskIsAllBelow(const uint64_t *bits, unsigned n)
{
    for (size_t w = 0; w < PCPU_MAX_CPUS / 64; ++w)
        if (bits[w] != maskWordBelow(n, w))
            return false;
    return true;
}
int readCpuList(const char *path, uint64_t *bits, unsigned limit);
int readOnlineCpus(uint64_t *bits, unsigned possible);
bool readCpuNodes(signed char *node, unsigned realCpus);

// getenv() that also works from .preinit_array (core.cc).
const char *envGet(const char *name);

// NUMA node of CPU `cpu`, or -1 when unknown / single node (core.cc).
int cpuNode(unsigned cpu);

} // namespace percpu::rt

#endif
