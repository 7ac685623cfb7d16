//===- Loader.cpp - loading relocatable modules into a per-CPU host --------===//
//
// The pipeline, each step a function returning llvm::Error; a failure at any
// step unwinds everything done so far (the Module destructor releases what it
// holds), so a failed load leaves the allocator, the export registry and the
// address space as they were:
//
//   parse -> plan per-CPU block (elfpatch::planBlock) -> [make indirect] ->
//   lay out sections by permission -> map in the module area -> place the
//   per-CPU block (pcpu_module_block_alloc) -> resolve symbols -> GOT/stubs ->
//   relocate (code, data, per-CPU image) -> copy the image into every unit ->
//   register exports -> protect -> register .eh_frame -> run initialisers
//
// Reach: module code addresses its own and the host's data with 32-bit
// PC-relative displacements.  Modules are mapped in a "module area" reserved
// near the host image (like the kernel's module space), and the first chunk
// of per-CPU units is canonically addressed near the host too, so the default
// placement needs no extra instruction.  When a per-CPU reference does not
// reach (or PCPU_RTLD_FAR / PERCPU_FORCE_FAR=1 asks), the module is loaded
// again with elfpatch::makeIndirect applied in memory: per-CPU address
// computations then load full addresses from slots.
//
// Synchronisation: one mutex (Loader::lock) protects the module list, the
// export registry and the module area.  Per-CPU data of a loaded module is
// used by module code without any lock, like host data.
//===----------------------------------------------------------------------===//
#include "percpu/loader.h"
#include "HostTarget.h"
#include "percpu/module.h"
#include "percpu/percpu.h"

#include "percpu/elfpatch/Check.h"
#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Layout.h"
#include "percpu/elfpatch/Object.h"
#include "percpu/elfpatch/Patch.h"
#include "percpu/elfpatch/Target.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Object/ELFTypes.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

extern "C" {
// GDB's JIT interface (GDB manual, "JIT Compilation Interface").  libLLVM
// defines the descriptor and the breakpoint function; using its copies keeps
// one registration list per process for the debugger.
struct jit_code_entry {
    jit_code_entry *next_entry;
    jit_code_entry *prev_entry;
    const char *symfile_addr;
    uint64_t symfile_size;
};
struct jit_descriptor {
    uint32_t version;
    uint32_t action_flag; // 0 no action, 1 register, 2 unregister
    jit_code_entry *relevant_entry;
    jit_code_entry *first_entry;
};
extern jit_descriptor __jit_debug_descriptor;
void __jit_debug_register_code();

// libgcc's unwinder registry, for C++ exceptions through module code.
void __register_frame(void *);
void __deregister_frame(void *);
int __cxa_finalize(void *);
int __cxa_atexit(void (*)(void *), void *, void *);
int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *);
// Linker-defined bounds of the executable (GNU ld and ld.lld).
extern char __executable_start[] __attribute__((weak, visibility("hidden")));
extern char _end[] __attribute__((weak, visibility("hidden")));
}

using namespace llvm;
using namespace llvm::ELF;
using namespace percpu::elfpatch;
using llvm::object::ELF64LE;

struct pcpu_module; // the C handle is the Module below

namespace percpu::loader {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kAreaSize = uint64_t{512} << 20;

// ---- errors -----------------------------------------------------------------------

thread_local std::string lastError;
thread_local bool hasError = false;

void setError(std::string msg)
{
    lastError = std::move(msg);
    hasError = true;
}

Error loadError(const std::string &file, std::string section, std::optional<uint64_t> off,
                std::string symbol, std::string message, std::string rule = "load")
{
    return makeError(std::move(rule), file, std::move(section), off, std::move(symbol),
                     std::move(message));
}

std::string describe(Error e, const std::string &file)
{
    std::string out;
    for (const Diagnostic &d : takeDiagnostics(std::move(e), "load", file)) {
        if (!out.empty())
            out += "\n";
        out += d.str();
    }
    return out;
}

// ---- the module area: address space near the host -------------------------------------

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
            candidates.push_back(alignTo(anchor, 2 << 20) + gap);
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

// ---- modules -----------------------------------------------------------------------------

struct ExportEntry {
    uint64_t addr;
    uint32_t kind;
    struct Module *owner; // nullptr: the host
};

struct Module {
    std::string name;
    ObjectFile obj;
    std::unique_ptr<Target> target;
    BlockLayout block;
    bool far = false;
    int flags = 0;

    uintptr_t blockCanon = 0;
    std::vector<uint8_t> image; // the per-CPU block's initial contents

    uintptr_t base = 0; // the mapping
    uint64_t mapSize = 0;
    bool inArea = false;
    bool reused = false; // the mapping came from the area's cache
    struct Region {
        uint64_t offset, size;
        int prot;
    };
    std::vector<Region> regions;

    std::vector<uint64_t> secAddr;  // by section index (0: not loaded)
    std::vector<uint8_t *> secData; // testing::relocateAt only: where the bytes are
    bool undefinedAsZero = false;   // testing::relocateAt only (as a linker's
                                    // --unresolved-symbols=ignore-all)
    std::vector<uint64_t> symAddr;  // by symbol index
    std::vector<uint64_t> gotEntry; // by symbol index: GOT entry address, or 0
    // GOT entries holding symbol + k, for `lea sym+k(%rip)` turned into a load.
    std::map<std::pair<uint32_t, int64_t>, uint64_t> gotOffsetEntry;
    // Indirect functions (STT_GNU_IFUNC) defined here: symbol index and
    // resolver address. As in an executable, the symbol's address everywhere
    // (calls, GOT entry, data, pcpu_dlsym) is its PLT stub, which jumps
    // through its own entry (gotOffsetEntry[{sym, kJumpSlot}]) that the
    // resolver's answer fills.
    std::vector<std::pair<uint32_t, uint64_t>> ifuncs;
    // Out-of-line copies of instructions whose memory operand is out of reach
    // (Target::writeFarStub): the next free one, and how many are left.
    uint64_t farStubs = 0;
    unsigned farStubsLeft = 0;
    // Relocations whose value did not fit (the fix-up pass's records, which
    // the far-reach decision reads), and how many relocations failed at all.
    struct Overflow {
        uint32_t section;
        uint64_t offset;
        uint32_t type, symbol;
        int64_t value;
    };
    std::vector<Overflow> overflows;
    unsigned relocFailures = 0;
    std::vector<uint64_t> pltStub;  // by symbol index: PLT stub address, or 0
    std::map<uint32_t, uint64_t> commonAddr;
    uint64_t gotBase = 0;
    uint64_t ehFrame = 0;
    bool ehRegistered = false;

    std::vector<std::string> exportNames; // registered in the loader's table
    std::set<Module *> deps, dependents;
    // PCPU_RTLD_GLOBAL: the module's visible global definitions, by name.
    std::unordered_map<std::string, uint32_t> globalDefs;
    std::vector<uint64_t> finiArray, exitcalls;
    bool constructed = false;
    uint64_t dsoHandle = 0; // the module's __dso_handle (a word in its data)
    bool loaded = false;    // fully loaded: unloading keeps reusable memory
    llvm::StringRef original;     // the object's bytes, while loading
    std::vector<char> debugImage; // the object with load addresses, for GDB
    jit_code_entry debugEntry{};
    bool debugRegistered = false;

    ~Module();
};

struct Loader {
    std::recursive_mutex lock;
    std::vector<Module *> modules;
    Module *loading = nullptr; // the module whose resolvers or init run
    std::unordered_map<std::string, ExportEntry> exports;
    ModuleArea area;
};

int describeModuleAddress(uintptr_t addr, char *buf, size_t len);
bool isPerCpuSection(const Section &s);

Loader &loader()
{
    // Keeps what the host must link for modules (libc_data.c) linked, also
    // under --gc-sections.
    __asm__ volatile("" : : "r"(hostTarget().hostCopies));
    static Loader *l = [] {
        pcpu_set_module_describer(describeModuleAddress);
        return new Loader(); // never destroyed: modules may outlive statics
    }();
    return *l;
}

// The guard's describer (pcpu_set_module_describer): which module's per-CPU
// variable or code `addr` is.  It runs in a dying process's fault handler,
// so it only tries the lock, and formats into the caller's buffer.
int describeModuleAddress(uintptr_t addr, char *buf, size_t len)
{
    Loader &L = loader();
    std::unique_lock<std::recursive_mutex> guard(L.lock, std::try_to_lock);
    if (!guard.owns_lock())
        return 0;
    for (const Module *m : L.modules) {
        const bool inBlock = m->blockCanon && addr - m->blockCanon < m->block.size;
        const bool inCode = m->base && addr - m->base < m->mapSize;
        if (!inBlock && !inCode)
            continue;
        const Symbol *best = nullptr;
        uint64_t bestAddr = 0;
        for (uint32_t i = 1; i < m->obj.symbols.size() && i < m->symAddr.size(); ++i) {
            const Symbol &s = m->obj.symbols[i];
            if (!s.isDefinedInSection() || s.type == STT_SECTION || s.name.empty() ||
                (inBlock != isPerCpuSection(m->obj.sections[s.shndx])))
                continue;
            uint64_t a = m->symAddr[i];
            if (addr < a || addr - a >= std::max<uint64_t>(s.size, 1))
                continue;
            if (!best || s.size < best->size) {
                best = &s;
                bestAddr = a;
            }
        }
        if (inBlock && best)
            snprintf(buf, len, "the per-CPU variable `%s` (+%lu of %lu bytes) of module %s",
                     best->name.c_str(), static_cast<unsigned long>(addr - bestAddr),
                     static_cast<unsigned long>(best->size), m->name.c_str());
        else if (inBlock)
            snprintf(buf, len, "the per-CPU block of module %s (+0x%lx of %lu bytes)",
                     m->name.c_str(), static_cast<unsigned long>(addr - m->blockCanon),
                     static_cast<unsigned long>(m->block.size));
        else if (best)
            snprintf(buf, len, "module %s, %s+0x%lx", m->name.c_str(), best->name.c_str(),
                     static_cast<unsigned long>(addr - bestAddr));
        else
            snprintf(buf, len, "module %s+0x%lx", m->name.c_str(),
                     static_cast<unsigned long>(addr - m->base));
        return 1;
    }
    return 0;
}

Module::~Module()
{
    Loader &L = loader();
    for (const std::string &n : exportNames)
        L.exports.erase(n);
    for (Module *d : deps)
        d->dependents.erase(this);
    if (debugRegistered) {
        jit_code_entry *e = &debugEntry;
        if (e->prev_entry)
            e->prev_entry->next_entry = e->next_entry;
        else
            __jit_debug_descriptor.first_entry = e->next_entry;
        if (e->next_entry)
            e->next_entry->prev_entry = e->prev_entry;
        __jit_debug_descriptor.relevant_entry = e;
        __jit_debug_descriptor.action_flag = 2;
        __jit_debug_register_code();
    }
    if (ehRegistered)
        __deregister_frame(reinterpret_cast<void *>(ehFrame));
    // A failed load is undone exactly (pages given back, mappings as they
    // were); an unloaded module's memory stays ready for the next load.
    if (blockCanon)
        pcpu_module_block_free(reinterpret_cast<void *>(blockCanon), loaded ? 0 : 1);
    if (base) {
        if (inArea)
            L.area.release(base, mapSize, loaded, reused);
        else
            munmap(reinterpret_cast<void *>(base), mapSize);
    }
}

bool isPerCpuSection(const Section &s) { return isPerCpuDataSection(s); }

bool loadable(const Section &s)
{
    return s.index && (s.flags & SHF_ALLOC) && s.type != SHT_GROUP && !isPerCpuSection(s);
}

int permOf(const Section &s)
{
    if (s.flags & SHF_EXECINSTR)
        return PROT_READ | PROT_EXEC;
    if (s.flags & SHF_WRITE)
        return PROT_READ | PROT_WRITE;
    return PROT_READ;
}

// ---- steps ------------------------------------------------------------------------------

Error validate(Module &m)
{
    const ObjectFile &o = m.obj;
    if (!o.isRelocatable())
        return loadError(m.name, "", std::nullopt, "",
                         "not a relocatable object (ET_REL); link modules with -r or "
                         "`percpu-elfpatch link`",
                         "malformed");
    const uint16_t host = hostTarget().machine;
    if (o.machine != host && !m.undefinedAsZero) // relocateAt may check other machines' engines
        return loadError(m.name, "", std::nullopt, "",
                         "object is for " + machineName(o.machine) + ", the host is " + machineName(host),
                         "malformed");
    if (!o.symtabIndex)
        return loadError(m.name, "", std::nullopt, "", "object has no symbol table", "malformed");
    // check's structural rules, from its own code: a per-CPU section that is
    // not PROGBITS/NOBITS data would otherwise load as ordinary data, and the
    // module's first per_cpu() access would fault.
    for (Diagnostic &d : structuralDiagnostics(o))
        return loadError(m.name, d.section, d.offset, d.symbol, d.message, d.rule);
    m.target = createTarget(o.machine);
    for (const Symbol &s : o.symbols)
        if (s.name == "__gnu_lto_slim")
            return loadError(m.name, "", std::nullopt, s.name,
                             "object holds only GCC's LTO bytecode (-flto without "
                             "-ffat-lto-objects), no machine code to load; compile the module "
                             "without -flto or add -ffat-lto-objects",
                             "malformed");
    for (const Section &s : o.sections)
        if (s.index && (s.flags & SHF_ALLOC) && (s.flags & SHF_WRITE) && (s.flags & SHF_EXECINSTR))
            return loadError(m.name, s.name, std::nullopt, "",
                             "section is both writable and executable; modules are never mapped "
                             "writable and executable at once");
    for (const Section &s : o.sections)
        if (s.index && (s.flags & SHF_TLS))
            return loadError(m.name, s.name, std::nullopt, "",
                             "thread-local data (SHF_TLS) is not supported in modules: a module "
                             "has no TLS block");
    return Error::success();
}

// Counts GOT entries and PLT stubs the relocations need.
// k in `lea sym+k(%rip)`: the field is the instruction's last four bytes, so
// the addend is k - 4. (Only meaningful where addressToGotLoad matches.)
int64_t leaTarget(const Reloc &r) { return static_cast<int64_t>(static_cast<uint64_t>(r.addend) + 4); }

// The key of an indirect function's jump slot among the offset entries.
constexpr int64_t kJumpSlot = INT64_MIN;

// The GOT entries and PLT stubs a module needs. `offsetSlots` are entries for
// symbol + k (k != 0), which a PC-relative `lea sym+k(%rip)` needs when it is
// turned into a load from the GOT.
void planGotAndStubs(Module &m, std::vector<uint32_t> &gotSyms, std::vector<uint32_t> &stubSyms,
                     std::vector<std::pair<uint32_t, int64_t>> &offsetSlots, unsigned &farStubs)
{
    farStubs = 0;
    std::set<uint32_t> got, stub;
    std::set<std::pair<uint32_t, int64_t>> offsets;
    for (const auto &[rela, list] : m.obj.relocs) {
        const Section &t = m.obj.sections[m.obj.relocTarget(rela)];
        if (!(t.flags & SHF_ALLOC))
            continue;
        for (const Reloc &r : list) {
            RelExpr e = m.target->relExpr(r.type);
            if (e == RelExpr::GotPCRelative || e == RelExpr::GotOffset)
                got.insert(r.symbol);
            bool undef = r.symbol && m.obj.symbols[r.symbol].shndx == SHN_UNDEF;
            if ((e == RelExpr::PLT || e == RelExpr::PltGotRelative) && undef) {
                stub.insert(r.symbol);
                got.insert(r.symbol);
            }
            // A PC-relative address of an external symbol may not reach
            // (libstdc++'s typeinfo from -fPIE code): keep a GOT entry ready.
            if (e == RelExpr::PCRelative && undef && (t.flags & SHF_EXECINSTR)) {
                ++farStubs; // in case it is a memory access out of reach
                if (leaTarget(r) == 0)
                    got.insert(r.symbol);
                else
                    offsets.insert({r.symbol, leaTarget(r)});
            }
        }
    }
    // Every indirect function gets a stub and a GOT entry: its address for
    // relocations, pcpu_dlsym and exports alike.
    for (uint32_t i = 1; i < m.obj.symbols.size(); ++i)
        if (m.obj.symbols[i].type == STT_GNU_IFUNC && m.obj.symbols[i].isDefinedInSection()) {
            stub.insert(i);
            got.insert(i);
            offsets.insert({i, kJumpSlot});
        }
    gotSyms.assign(got.begin(), got.end());
    stubSyms.assign(stub.begin(), stub.end());
    offsetSlots.assign(offsets.begin(), offsets.end());
}

Error layOutAndMap(Module &m)
{
    const ObjectFile &o = m.obj;
    std::vector<uint32_t> gotSyms, stubSyms;
    std::vector<std::pair<uint32_t, int64_t>> offsetSlots;
    unsigned farStubs = 0;
    planGotAndStubs(m, gotSyms, stubSyms, offsetSlots, farStubs);
    if (!m.target->farStubSize)
        farStubs = 0;
    const unsigned stubSize = m.target->pltStubSize;

    // COMMON symbols go to the end of the data region.
    uint64_t commonSize = 0, commonAlign = 1;
    std::vector<std::pair<uint32_t, uint64_t>> commons;
    for (uint32_t i = 1; i < o.symbols.size(); ++i) {
        const Symbol &s = o.symbols[i];
        if (s.shndx != kShnCommon)
            continue;
        uint64_t a = std::max<uint64_t>(1, s.value);
        if (!isPowerOf2_64(a) || a > kPage)
            return loadError(m.name, "COMMON", std::nullopt, s.name,
                             "COMMON symbol '" + s.name + "' has alignment " + std::to_string(a));
        commonSize = alignTo(commonSize, a);
        commons.emplace_back(i, commonSize);
        commonSize += s.size;
        commonAlign = std::max(commonAlign, a);
    }

    // Regions in order: text (+stubs), read-only (+GOT), data (+bss, COMMON).
    m.secAddr.assign(o.sections.size(), 0);
    std::vector<uint64_t> offsets(o.sections.size(), 0);
    uint64_t at = 0;
    uint64_t stubOff = 0, farStubOff = 0, gotOff = 0, commonOff = 0, dsoOff = 0;
    const int prots[] = {PROT_READ | PROT_EXEC, PROT_READ, PROT_READ | PROT_WRITE};
    for (int prot : prots) {
        uint64_t start = at;
        for (bool nobits : {false, true})
            for (const Section &s : o.sections) {
                if (!loadable(s) || permOf(s) != prot || (s.type == SHT_NOBITS) != nobits)
                    continue;
                at = alignTo(at, std::max<uint64_t>(1, s.addralign));
                offsets[s.index] = at;
                at += s.size;
                if (s.name == ".eh_frame")
                    at += 4; // zero terminator for the unwinder
            }
        if (prot == (PROT_READ | PROT_EXEC) && !stubSyms.empty()) {
            at = alignTo(at, 16);
            stubOff = at;
            at += stubSyms.size() * stubSize;
        }
        if (prot == (PROT_READ | PROT_EXEC) && farStubs) {
            at = alignTo(at, 16);
            farStubOff = at;
            at += uint64_t{farStubs} * m.target->farStubSize;
        }
        if (prot == PROT_READ && !(gotSyms.empty() && offsetSlots.empty())) {
            at = alignTo(at, m.target->gotEntrySize);
            gotOff = at;
            at += (gotSyms.size() + offsetSlots.size()) * m.target->gotEntrySize;
        }
        if (prot == (PROT_READ | PROT_WRITE)) {
            at = alignTo(at, commonAlign);
            commonOff = at;
            at += commonSize;
            at = alignTo(at, 8);
            dsoOff = at; // the module's __dso_handle: an address inside it
            at += 8;
        }
        if (at > start) {
            at = alignTo(at, kPage);
            m.regions.push_back({start, at - start, prot});
        }
    }
    m.mapSize = std::max<uint64_t>(at, kPage);

    Loader &L = loader();
    m.base = L.area.allocate(m.mapSize, m.reused); // near the host, far path or not
    m.inArea = m.base != 0;
    if (!m.base) {
        void *p = mmap(nullptr, m.mapSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return loadError(m.name, "", std::nullopt, "",
                             "cannot map " + std::to_string(m.mapSize) + " bytes: " + strerror(errno));
        m.base = reinterpret_cast<uintptr_t>(p);
    }
    for (const Section &s : o.sections) {
        if (!loadable(s))
            continue;
        m.secAddr[s.index] = m.base + offsets[s.index];
        if (s.type != SHT_NOBITS && !s.data.empty())
            std::memcpy(reinterpret_cast<void *>(m.secAddr[s.index]), s.data.data(), s.data.size());
        if (s.name == ".eh_frame" && s.size)
            m.ehFrame = m.secAddr[s.index];
    }
    uint64_t stubAt = m.base + stubOff, gotAt = m.base + gotOff;
    m.farStubs = farStubs ? m.base + farStubOff : 0;
    m.farStubsLeft = farStubs;
    m.gotBase = gotAt;
    m.gotEntry.assign(o.symbols.size(), 0);
    m.pltStub.assign(o.symbols.size(), 0);
    for (uint32_t sym : gotSyms) {
        m.gotEntry[sym] = gotAt;
        gotAt += m.target->gotEntrySize;
    }
    for (const auto &key : offsetSlots) {
        m.gotOffsetEntry[key] = gotAt;
        gotAt += m.target->gotEntrySize;
    }
    for (uint32_t sym : stubSyms) {
        m.pltStub[sym] = stubAt;
        stubAt += stubSize;
    }
    for (auto &[sym, off] : commons)
        m.commonAddr[sym] = m.base + commonOff + off;
    m.dsoHandle = m.base + dsoOff;
    return Error::success();
}

Error placeBlock(Module &m)
{
    if (m.block.empty())
        return Error::success();
    void *p = pcpu_module_block_alloc(m.block.size ? m.block.size : 1, std::min<uint64_t>(m.block.align, kPage));
    if (!p)
        return loadError(m.name, m.obj.sectionLabel(m.block.sections[0].section), std::nullopt, "",
                         "cannot allocate " + std::to_string(m.block.size) + " bytes of per-CPU data: " +
                             strerror(errno));
    m.blockCanon = reinterpret_cast<uintptr_t>(p);
    m.image.assign(m.block.size, 0);
    for (const PlacedSection &ps : m.block.sections) {
        m.secAddr[ps.section] = m.blockCanon + ps.offset;
        const Section &s = m.obj.sections[ps.section];
        if (s.type != SHT_NOBITS)
            std::copy(s.data.begin(), s.data.end(), m.image.begin() + static_cast<long>(ps.offset));
    }
    return Error::success();
}

// Looks a name up as the loader resolves it: host, modules, process.
// The module whose mapping holds `addr` (the one being loaded included), or
// null. Called with the loader's lock held.
Module *moduleAt(uint64_t addr)
{
    Loader &L = loader();
    auto holds = [&](const Module *m) { return m && addr - m->base < m->mapSize; };
    if (holds(L.loading))
        return L.loading;
    for (Module *m : L.modules)
        if (holds(m))
            return m;
    return nullptr;
}

// The __dso_handle of the module that owns a handler (by the handler's
// address, then by the caller's), or null for code outside modules.
void *dsoHandleFor(const void *handler, const void *caller)
{
    std::lock_guard<std::recursive_mutex> guard(loader().lock);
    Module *m = moduleAt(reinterpret_cast<uint64_t>(handler));
    if (!m)
        m = moduleAt(reinterpret_cast<uint64_t>(caller));
    return m ? reinterpret_cast<void *>(m->dsoHandle) : nullptr;
}

// What libc_nonshared.a gives every executable and shared object: functions
// that register handlers under the caller's __dso_handle, so that unloading
// the caller runs (atexit) or forgets (pthread_atfork) them. libc.so does not
// export them; a module gets these, which find the module by the handler.
extern "C" int pcpuModuleAtexit(void (*fn)(void))
{
    void *dso = dsoHandleFor(reinterpret_cast<const void *>(fn), __builtin_return_address(0));
    return __cxa_atexit(reinterpret_cast<void (*)(void *)>(fn), nullptr, dso);
}

extern "C" int pcpuModulePthreadAtfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    const void *any = prepare ? reinterpret_cast<const void *>(prepare)
                      : parent ? reinterpret_cast<const void *>(parent)
                               : reinterpret_cast<const void *>(child);
    return __register_atfork(prepare, parent, child, dsoHandleFor(any, __builtin_return_address(0)));
}

void *nonsharedFunction(const std::string &name)
{
    if (name == "atexit")
        return reinterpret_cast<void *>(&pcpuModuleAtexit);
    if (name == "pthread_atfork" || name == "__pthread_atfork")
        return reinterpret_cast<void *>(&pcpuModulePthreadAtfork);
    if (name == "__stack_chk_fail_local") // i386's spelling; the same function
        return dlsym(RTLD_DEFAULT, "__stack_chk_fail");
    return nullptr;
}

// What an undefined reference wants is what its object declares: a
// DECLARE_PER_CPU record (or the legacy per_cpu__ spelling) makes it a
// per-CPU reference, anything else an ordinary one.  The use in code cannot
// decide it: `lea hits(%rip)` is both `&plain_hits` and the first half of a
// per-CPU address computation.  The export record tells what a definition is,
// so a mismatch either way is refused before the module can run.
Error lookup(Module &m, uint32_t index, uint64_t &addr)
{
    const Symbol &s = m.obj.symbols[index];
    const bool wantPerCpu = isDeclaredPerCpu(m.obj, s.name);
    Loader &L = loader();
    auto mismatch = [&](const std::string &where) {
        return loadError(m.name, "", std::nullopt, s.name,
                         wantPerCpu ? "per-CPU reference '" + s.name + "' resolves to ordinary " +
                                          where + " symbol (expected an EXPORT_PER_CPU_SYMBOL)"
                                    : "ordinary reference '" + s.name + "' resolves to a per-CPU " +
                                          where + " export (declare it with DECLARE_PER_CPU)",
                         "kind-mismatch");
    };
    // A per-CPU reference binds across the two spellings (per_cpu__x and x),
    // so that objects of the 2006 convention and current ones mix; only to a
    // per-CPU export under the other spelling.
    std::vector<std::string> names{s.name};
    if (wantPerCpu)
        names.push_back(otherPerCpuSpelling(s.name));
    for (size_t k = 0; k < names.size(); ++k) {
        const bool alias = k > 0;
        if (const pcpu_export *e = pcpu_host_export(names[k].c_str())) {
            bool isPerCpu = e->kind == PCPU_EXPORT_PER_CPU;
            if (alias && !isPerCpu)
                continue;
            if (isPerCpu != wantPerCpu)
                return mismatch("host");
            addr = reinterpret_cast<uint64_t>(e->addr);
            return Error::success();
        }
        auto it = L.exports.find(names[k]);
        if (it != L.exports.end()) {
            bool isPerCpu = it->second.kind == PCPU_EXPORT_PER_CPU;
            if (alias && !isPerCpu)
                continue;
            if (isPerCpu != wantPerCpu)
                return mismatch("module '" + it->second.owner->name + "'");
            addr = it->second.addr;
            m.deps.insert(it->second.owner);
            return Error::success();
        }
    }
    if (s.name == "__dso_handle") {
        addr = m.dsoHandle;
        return Error::success();
    }
    // The PCPU_RTLD_GLOBAL modules' definitions, in load order.
    auto fromGlobals = [&]() -> std::optional<Error> {
        for (size_t k = 0; k < names.size(); ++k)
            for (Module *g : L.modules) {
                auto it = g->globalDefs.find(names[k]);
                if (it == g->globalDefs.end())
                    continue;
                bool isPerCpu = isPerCpuSymbol(g->obj, g->obj.symbols[it->second]);
                if (k > 0 && !isPerCpu)
                    continue;
                if (isPerCpu != wantPerCpu)
                    return mismatch("module '" + g->name + "' (PCPU_RTLD_GLOBAL)");
                addr = g->symAddr[it->second];
                m.deps.insert(g);
                return Error::success();
            }
        return std::nullopt;
    };
    if (m.flags & PCPU_RTLD_DEEPBIND)
        if (auto r = fromGlobals())
            return std::move(*r);
    if (s.name == "_GLOBAL_OFFSET_TABLE_") {
        addr = m.gotBase;
        return Error::success();
    }
    if (!wantPerCpu) {
        if (void *p = nonsharedFunction(s.name)) {
            addr = reinterpret_cast<uint64_t>(p);
            return Error::success();
        }
    }
    if (!wantPerCpu && !(m.flags & PCPU_RTLD_NO_PROCESS_SYMBOLS)) {
        if (void *p = dlsym(RTLD_DEFAULT, s.name.c_str())) {
            addr = reinterpret_cast<uint64_t>(p);
            return Error::success();
        }
        // What GCC's target_clones and __builtin_cpu_supports call: programs
        // link them from libgcc.a; libgcc_s.so keeps them only under a
        // non-default version, which dlsym does not see.
        if (s.name == "__cpu_model" || s.name == "__cpu_indicator_init") {
            if (void *p = dlvsym(RTLD_DEFAULT, s.name.c_str(), "GCC_4.8.0")) {
                addr = reinterpret_cast<uint64_t>(p);
                return Error::success();
            }
        }
    }
    if (!(m.flags & PCPU_RTLD_DEEPBIND))
        if (auto r = fromGlobals())
            return std::move(*r);
    if (s.binding == STB_WEAK) {
        addr = 0;
        return Error::success();
    }
    return loadError(m.name, "", std::nullopt, s.name,
                     std::string(wantPerCpu ? "undefined per-CPU symbol '" : "undefined symbol '") + s.name +
                         "'" +
                         (wantPerCpu ? " (declared with DECLARE_PER_CPU; no EXPORT_PER_CPU_SYMBOL "
                                       "in the host or a loaded module)"
                                     : (m.flags & PCPU_RTLD_NO_PROCESS_SYMBOLS)
                                           ? " (not exported by the host or a loaded module; process "
                                             "symbols are disabled)"
                                           : " (not exported by the host or a loaded module, nor in the "
                                             "process)"),
                     "undefined-symbol");
}

// ELF's rule for a module's weak definition: an earlier definition of the
// name in the search order wins (a host or module export, a GLOBAL module's
// definition) when it is of the same kind.  The process is not consulted:
// C++ inline functions and template instances are weak, and binding them to
// another copy in a shared library would gain nothing.
std::optional<uint64_t> earlierDefinition(Module &m, const Symbol &s)
{
    if (s.name.empty() || (s.other & 3) == STV_HIDDEN || (s.other & 3) == STV_INTERNAL)
        return std::nullopt;
    const bool perCpu = isPerCpuSymbol(m.obj, s);
    const uint32_t kind = perCpu ? PCPU_EXPORT_PER_CPU : PCPU_EXPORT_PLAIN;
    if (const pcpu_export *e = pcpu_host_export(s.name.c_str()))
        return e->kind == kind ? std::optional<uint64_t>(reinterpret_cast<uint64_t>(e->addr)) : std::nullopt;
    Loader &L = loader();
    if (auto it = L.exports.find(s.name); it != L.exports.end()) {
        if (it->second.kind != kind)
            return std::nullopt;
        if (it->second.owner)
            m.deps.insert(it->second.owner);
        return it->second.addr;
    }
    for (Module *g : L.modules)
        if (auto it = g->globalDefs.find(s.name); it != g->globalDefs.end()) {
            if (isPerCpuSymbol(g->obj, g->obj.symbols[it->second]) != perCpu)
                return std::nullopt;
            m.deps.insert(g);
            return g->symAddr[it->second];
        }
    return std::nullopt;
}

Error resolveSymbols(Module &m)
{
    const ObjectFile &o = m.obj;
    m.symAddr.assign(o.symbols.size(), 0);
    std::vector<bool> referenced(o.symbols.size(), false);
    for (const auto &[rela, list] : o.relocs)
        if (o.sections[o.relocTarget(rela)].flags & SHF_ALLOC)
            for (const Reloc &r : list)
                referenced[r.symbol] = true;
    Error errors = Error::success();
    for (uint32_t i = 1; i < o.symbols.size(); ++i) {
        const Symbol &s = o.symbols[i];
        if (s.shndx == SHN_UNDEF) {
            if (!referenced[i] || s.name.empty() || m.undefinedAsZero)
                continue;
            uint64_t a = 0;
            if (Error e = lookup(m, i, a))
                errors = joinErrors(std::move(errors), std::move(e));
            m.symAddr[i] = a;
        } else if (s.shndx == kShnAbs) {
            m.symAddr[i] = s.value;
        } else if (s.shndx == kShnCommon) {
            m.symAddr[i] = m.commonAddr[i];
        } else if (s.shndx < o.sections.size()) {
            uint64_t base = m.secAddr[s.shndx];
            if (!base && referenced[i])
                errors = joinErrors(std::move(errors),
                                    loadError(m.name, o.sectionLabel(s.shndx), s.value, s.name,
                                              "symbol '" + s.name + "' is defined in section '" +
                                                  o.sectionLabel(s.shndx) + "', which is not loaded"));
            m.symAddr[i] = base + (s.type == STT_SECTION ? 0 : s.value);
            if (s.binding == STB_WEAK && s.type != STT_GNU_IFUNC)
                if (std::optional<uint64_t> earlier = earlierDefinition(m, s))
                    m.symAddr[i] = *earlier;
            if (s.type == STT_GNU_IFUNC && m.pltStub[i]) {
                if (!(o.sections[s.shndx].flags & SHF_EXECINSTR) || s.value >= o.sections[s.shndx].size)
                    errors = joinErrors(std::move(errors),
                                        loadError(m.name, o.sectionLabel(s.shndx), s.value, s.name,
                                                  "indirect function '" + s.name +
                                                      "' has its resolver outside executable code",
                                                  "malformed"));
                m.ifuncs.emplace_back(i, m.symAddr[i]);
                m.symAddr[i] = m.pltStub[i];
            }
        }
    }
    return errors;
}

// A PC-relative reference to something defined outside the module that is
// out of reach: name where it lives and say what to do. The usual case is
// -fPIE code reading a shared library's variable directly, which only works
// in an executable (the linker copies the variable into it).
Error explainFarData(Error e, const Module &m, const std::string &name, uint64_t addr,
                     const std::string &whyNotMoved)
{
    Dl_info info{};
    if (!addr || !dladdr(reinterpret_cast<void *>(addr), &info) || !info.dli_fname)
        return e;
    std::string where = info.dli_fname[0] ? info.dli_fname : "the host executable";
    std::vector<Diagnostic> diags = takeDiagnostics(std::move(e), "load", m.name);
    Error out = Error::success();
    for (Diagnostic &d : diags) {
        if (d.rule == "relocation-overflow")
            d.message += "; '" + name + "' is defined in " + where +
                         ", out of 32-bit reach of the module: code built with -fPIE reaches data "
                         "outside its object directly (an executable would get a copy relocation)" +
                         (whyNotMoved.empty() ? std::string() : " and " + whyNotMoved) +
                         "; build the module with -fPIC";
        out = joinErrors(std::move(out), make_error<DiagnosticError>(std::move(d)));
    }
    return out;
}

Error relocate(Module &m)
{
    const ObjectFile &o = m.obj;
    // GOT entries and stubs.
    for (uint32_t sym = 0; sym < m.gotEntry.size() && m.secData.empty(); ++sym) {
        if (m.gotEntry[sym])
            support::endian::write64le(reinterpret_cast<void *>(m.gotEntry[sym]), m.symAddr[sym]);
        if (m.pltStub[sym]) {
            auto jump = m.gotOffsetEntry.find({sym, kJumpSlot});
            m.target->writePltStub(reinterpret_cast<uint8_t *>(m.pltStub[sym]), m.pltStub[sym],
                                   jump == m.gotOffsetEntry.end() ? m.gotEntry[sym] : jump->second);
        }
    }
    if (m.secData.empty()) // jump slots wait for their resolvers
        for (const auto &[key, entry] : m.gotOffsetEntry)
            support::endian::write64le(reinterpret_cast<void *>(entry),
                                       key.second == kJumpSlot ? 0 : m.symAddr[key.first] + key.second);

    Error errors = Error::success();
    unsigned count = 0;
    for (const auto &[rela, list] : o.relocs) {
        const Section &t = o.sections[o.relocTarget(rela)];
        if (!(t.flags & SHF_ALLOC))
            continue; // debug information is not loaded
        auto off = m.block.offsetOf(t.index);
        uint8_t *dst;
        uint64_t place;
        if (!m.secData.empty()) { // relocateAt: bytes elsewhere than their address
            dst = m.secData[t.index];
            place = m.secAddr[t.index];
            if (!dst)
                continue;
        } else if (off) {
            dst = m.image.data() + *off;
            place = m.blockCanon + *off;
        } else {
            dst = reinterpret_cast<uint8_t *>(m.secAddr[t.index]);
            place = m.secAddr[t.index];
        }
        for (const Reloc &r : list) {
            const Symbol &sym = o.symbols[r.symbol];
            Target::RelocValues v;
            v.S = m.symAddr[r.symbol];
            v.A = r.addend;
            v.P = place + r.offset;
            v.GOT = m.gotBase;
            v.Z = sym.size;
            v.G = m.gotEntry[r.symbol];
            v.L = v.S;
            if (uint64_t stub = m.pltStub[r.symbol]) {
                int64_t direct = static_cast<int64_t>(v.S + v.A - v.P);
                int64_t reach = m.target->branchReach;
                if (direct < -reach || direct >= reach)
                    v.L = stub;
            }
            std::string whyNotMoved;
            if (m.target->relExpr(r.type) == RelExpr::PCRelative && !off && sym.shndx == SHN_UNDEF) {
                int64_t direct = static_cast<int64_t>(v.S + v.A - v.P);
                bool far = direct < INT32_MIN || direct > INT32_MAX;
                // `lea sym+k(%rip)` out of reach becomes `mov slot(%rip)`,
                // the slot holding sym + k.
                uint64_t slot = 0;
                if (far) {
                    int64_t k = leaTarget(r);
                    if (!k)
                        slot = v.G;
                    else if (auto it = m.gotOffsetEntry.find({r.symbol, k}); it != m.gotOffsetEntry.end())
                        slot = it->second;
                }
                if (far && slot && m.target->addressToGotLoad(dst, t, r.offset)) {
                    v.S = slot; // the field now addresses the slot
                    v.A = -4;
                } else if (far && r.type == m.target->pc32 && m.farStubsLeft && m.secData.empty()) {
                    // A load or store: move it out of line, through a 64-bit address.
                    Error moved = m.target->writeFarStub(dst, t, place, r, list, v.S + v.A,
                                                         reinterpret_cast<uint8_t *>(m.farStubs), m.farStubs);
                    if (!moved) {
                        m.farStubs += m.target->farStubSize;
                        --m.farStubsLeft;
                        continue;
                    }
                    whyNotMoved = toString(std::move(moved));
                }
            }
            auto where = [&] {
                Diagnostic d;
                d.file = m.name;
                d.section = t.name;
                d.offset = r.offset;
                d.symbol = sym.type == STT_SECTION ? o.sectionLabel(sym.shndx) : sym.name;
                return d;
            };
            if (Error e = m.target->applyRelocation(r.type, dst + r.offset, v, where)) {
                ++m.relocFailures;
                e = handleErrors(std::move(e), [&](std::unique_ptr<RelocationRangeError> range) -> Error {
                    m.overflows.push_back({t.index, r.offset, r.type, r.symbol, range->value});
                    return Error(std::move(range));
                });
                if (sym.shndx == SHN_UNDEF && m.target->relExpr(r.type) == RelExpr::PCRelative)
                    e = explainFarData(std::move(e), m, sym.name, v.S, whyNotMoved);
                errors = joinErrors(std::move(errors), std::move(e));
                if (++count > 20)
                    return errors;
            }
        }
    }
    return errors;
}

// The far-reach decision, from the fix-up pass's records: every failed
// relocation overflowed against per-CPU data, which the far path reaches.
bool farPathFixes(const Module &m)
{
    if (m.overflows.empty() || m.overflows.size() != m.relocFailures)
        return false;
    for (const Module::Overflow &o : m.overflows)
        if (!isPerCpuSymbol(m.obj, m.obj.symbols[o.symbol]))
            return false;
    return true;
}

Error registerExports(Module &m)
{
    Loader &L = loader();
    const Section *sec = m.obj.sectionByName("percpu_exports");
    if (!sec || !m.secAddr[sec->index])
        return Error::success();
    if (sec->size % sizeof(pcpu_export) || m.secAddr[sec->index] % alignof(pcpu_export))
        return loadError(m.name, sec->name, std::nullopt, "",
                         "export table of " + std::to_string(sec->size) +
                             " bytes is not an array of export records", "malformed");
    size_t n = sec->size / sizeof(pcpu_export);
    auto *recs = reinterpret_cast<const pcpu_export *>(m.secAddr[sec->index]);
    auto inModule = [&](uint64_t a) { return a >= m.base && a < m.base + m.mapSize; };
    auto inBlock = [&](uint64_t a) { return m.blockCanon && a - m.blockCanon < m.block.size; };
    for (size_t i = 0; i < n; ++i) {
        const pcpu_export &e = recs[i];
        if (!e.name)
            continue;
        auto nameAt = reinterpret_cast<uint64_t>(e.name), addr = reinterpret_cast<uint64_t>(e.addr);
        size_t room = inModule(nameAt) ? m.base + m.mapSize - nameAt : 0;
        if (!room || strnlen(e.name, room) == room || !(inModule(addr) || inBlock(addr)) ||
            e.kind > PCPU_EXPORT_PER_CPU || (e.kind == PCPU_EXPORT_PER_CPU) != inBlock(addr))
            return loadError(m.name, sec->name, i * sizeof(pcpu_export), "",
                             "export record " + std::to_string(i) +
                                 " does not name a symbol of this module (name, address or kind "
                                 "out of place)",
                             "malformed");
        std::string name = e.name;
        if (pcpu_host_export(e.name))
            return loadError(m.name, sec->name, i * sizeof(pcpu_export), name,
                             "module exports '" + name + "', which the host already exports",
                             "duplicate-export");
        auto it = L.exports.find(name);
        if (it != L.exports.end())
            return loadError(m.name, sec->name, i * sizeof(pcpu_export), name,
                             "module exports '" + name + "', already exported by module '" +
                                 it->second.owner->name + "'",
                             "duplicate-export");
        L.exports[name] = {reinterpret_cast<uint64_t>(e.addr), e.kind, &m};
        m.exportNames.push_back(name);
    }
    return Error::success();
}

void copyImage(Module &m)
{
    if (!m.blockCanon || m.image.empty())
        return;
    // Whole pages shared copy-on-write by every unit, the rest copied.
    if (pcpu_module_block_fill(reinterpret_cast<void *>(m.blockCanon), m.image.data(), m.image.size()) == 0)
        return;
    unsigned n = pcpu_nr_cpus();
    for (unsigned c = 0; c < n; ++c)
        std::memcpy(reinterpret_cast<void *>(m.blockCanon + pcpu_unit_offset[c]), m.image.data(),
                    m.image.size());
}

// Calls an indirect function's resolver with what ld.so passes on this
// architecture: nothing on x86-64; on AArch64 AT_HWCAP (with
// _IFUNC_ARG_HWCAP) and a pointer to {size, AT_HWCAP, AT_HWCAP2}.

// Protects the mapping. Code becomes executable first, so that indirect
// functions' resolvers can run and fill their GOT entries before the GOT
// becomes read-only (as IRELATIVE relocations are applied by ld.so). With
// PCPU_RTLD_NOINIT no module code runs: the entries stay 0.
Error protect(Module &m)
{
    // Code was written through the data side: make the instruction side see it.
    for (const Module::Region &r : m.regions)
        if (r.prot & PROT_EXEC)
            hostTarget().flushInstructions(reinterpret_cast<void *>(m.base + r.offset),
                                           reinterpret_cast<void *>(m.base + r.offset + r.size));
    auto apply = [&](bool exec) -> Error {
        for (const Module::Region &r : m.regions)
            if (((r.prot & PROT_EXEC) != 0) == exec &&
                mprotect(reinterpret_cast<void *>(m.base + r.offset), r.size, r.prot) != 0)
                return loadError(m.name, "", std::nullopt, "",
                                 std::string("mprotect failed: ") + strerror(errno));
        return Error::success();
    };
    if (Error e = apply(true))
        return e;
    if (!(m.flags & PCPU_RTLD_NOINIT))
        for (auto [sym, resolver] : m.ifuncs)
            support::endian::write64le(reinterpret_cast<void *>(m.gotOffsetEntry.at({sym, kJumpSlot})),
                                       hostTarget().callResolver(resolver));
    return apply(false);
}

// The function pointers a loaded table section holds, in order (the
// sentinels 0 and -1 of crtstuff-style tables skipped).
std::vector<uint64_t> pointersIn(const Module &m, const Section &s)
{
    std::vector<uint64_t> out;
    for (uint64_t off = 0; off + 8 <= s.size; off += 8) {
        uint64_t fn = support::endian::read64le(reinterpret_cast<const void *>(m.secAddr[s.index] + off));
        if (fn && fn != ~uint64_t{0})
            out.push_back(fn);
    }
    return out;
}

// module_init/module_exit: every section named `name`, in section order.
std::vector<uint64_t> pointersOf(const Module &m, StringRef name)
{
    std::vector<uint64_t> out;
    for (const Section &s : m.obj.sections)
        if (s.index && m.secAddr[s.index] && s.name == name) {
            std::vector<uint64_t> p = pointersIn(m, s);
            out.insert(out.end(), p.begin(), p.end());
        }
    return out;
}

// Tells a debugger about the module: the object as read, with each section's
// sh_addr set to where it was loaded (what RuntimeDyld gives GDB too), so
// backtraces and breakpoints show the module's functions.
void registerWithDebugger(Module &m, StringRef original)
{
    if (original.size() < sizeof(ELF64LE::Ehdr))
        return;
    m.debugImage.assign(original.begin(), original.end());
    ELF64LE::Ehdr eh;
    std::memcpy(&eh, m.debugImage.data(), sizeof(eh));
    for (uint32_t i = 1; i < eh.e_shnum && i < m.secAddr.size(); ++i) {
        uint64_t at = eh.e_shoff + uint64_t{i} * sizeof(ELF64LE::Shdr) + offsetof(ELF64LE::Shdr, sh_addr);
        if (at + 8 > m.debugImage.size())
            return;
        support::endian::write64le(m.debugImage.data() + at, m.secAddr[i]);
    }
    jit_code_entry *e = &m.debugEntry;
    e->symfile_addr = m.debugImage.data();
    e->symfile_size = m.debugImage.size();
    e->prev_entry = nullptr;
    e->next_entry = __jit_debug_descriptor.first_entry;
    if (e->next_entry)
        e->next_entry->prev_entry = e;
    __jit_debug_descriptor.first_entry = e;
    __jit_debug_descriptor.relevant_entry = e;
    __jit_debug_descriptor.action_flag = 1;
    __jit_debug_register_code();
    m.debugRegistered = true;
}

// .init_array (or .fini_array) as GNU ld builds it for a program: the
// entries of `array`.P and of the older `legacy`.N tables (.ctors/.dtors,
// N = 65535 - P, each section's words reversed) by priority P, then plain
// `array`, then plain `legacy` reversed. A program runs .init_array forward
// and .fini_array backward.
std::vector<uint64_t> arrayOrder(Module &m, StringRef array, StringRef legacy)
{
    struct Part {
        unsigned prio;
        int legacy;
        const Section *s;
    };
    std::vector<Part> parts;
    for (const Section &s : m.obj.sections) {
        if (!s.index || !m.secAddr[s.index])
            continue;
        for (int isLegacy : {0, 1}) {
            StringRef n(s.name);
            if (!n.consume_front(isLegacy ? legacy : array))
                continue;
            if (n.empty()) {
                parts.push_back({65536, isLegacy, &s});
            } else if (unsigned v; n.consume_front(".") && !n.getAsInteger(10, v) && v <= 65535) {
                parts.push_back({isLegacy ? 65535 - v : v, isLegacy, &s});
            }
        }
    }
    std::stable_sort(parts.begin(), parts.end(), [](const Part &a, const Part &b) {
        return a.prio != b.prio ? a.prio < b.prio : a.legacy < b.legacy;
    });
    std::vector<uint64_t> out;
    for (const Part &p : parts) {
        std::vector<uint64_t> words = pointersIn(m, *p.s);
        if (p.legacy)
            std::reverse(words.begin(), words.end());
        out.insert(out.end(), words.begin(), words.end());
    }
    return out;
}

Error runInit(Module &m)
{
    if (m.flags & PCPU_RTLD_NOINIT)
        return Error::success();
    if (m.ehFrame) {
        __register_frame(reinterpret_cast<void *>(m.ehFrame));
        m.ehRegistered = true;
    }
    for (uint64_t fn : arrayOrder(m, ".init_array", ".ctors"))
        reinterpret_cast<void (*)()>(fn)();
    m.constructed = true;
    m.finiArray = arrayOrder(m, ".fini_array", ".dtors");
    m.exitcalls = pointersOf(m, PCPU_MODULE_EXIT_SECTION);
    for (uint64_t fn : pointersOf(m, PCPU_MODULE_INIT_SECTION)) {
        int rc = reinterpret_cast<int (*)()>(fn)();
        if (rc != 0)
            return loadError(m.name, PCPU_MODULE_INIT_SECTION, std::nullopt, "",
                             "module_init function returned " + std::to_string(rc) +
                                 "; the module is not loaded",
                             "init-failed");
    }
    return Error::success();
}

void runDestructors(Module &m)
{
    if (!m.constructed)
        return;
    __cxa_finalize(reinterpret_cast<void *>(m.dsoHandle));
    for (auto it = m.finiArray.rbegin(); it != m.finiArray.rend(); ++it)
        reinterpret_cast<void (*)()>(*it)();
    m.constructed = false;
}

bool forceFar(int flags)
{
    if (flags & PCPU_RTLD_FAR)
        return true;
    const char *e = getenv("PERCPU_FORCE_FAR");
    return e && *e && strcmp(e, "0") != 0;
}

// ---- the pipeline ---------------------------------------------------------------------
//
// Loading is a list of passes over one Module, in named phases; a failure in
// any pass unwinds everything done so far (~Module).  The link passes run no
// module code; the start passes may (indirect-function resolvers,
// constructors, module_init), with the module registered as the one loading
// so that the handlers it installs belong to it.

Error makeIndirectIfFar(Module &m)
{
    if (!m.far)
        return Error::success();
    auto n = makeIndirect(m.obj);
    return n ? Error::success() : n.takeError();
}

Error planPerCpuBlock(Module &m)
{
    m.block = planBlock(m.obj);
    return Error::success();
}

Error copyPerCpuImage(Module &m)
{
    copyImage(m);
    return Error::success();
}

Error linkDependentsAndDebugger(Module &m)
{
    for (Module *d : m.deps)
        d->dependents.insert(&m);
    registerWithDebugger(m, m.original);
    return Error::success();
}

Error runInitialisers(Module &m)
{
    Error e = runInit(m);
    if (e)
        runDestructors(m); // what did construct is destroyed before unwinding
    return e;
}

// PCPU_RTLD_GLOBAL: the module's visible global definitions serve the
// modules loaded after it.
Error publishGlobalDefinitions(Module &m)
{
    m.loaded = true;
    if (!(m.flags & PCPU_RTLD_GLOBAL))
        return Error::success();
    for (uint32_t i = 1; i < m.obj.symbols.size(); ++i) {
        const Symbol &sym = m.obj.symbols[i];
        uint8_t vis = sym.other & 3;
        if (sym.binding != STB_LOCAL && !sym.name.empty() && sym.type != STT_SECTION &&
            (sym.isDefinedInSection() || sym.shndx == kShnAbs || sym.shndx == kShnCommon) &&
            vis != STV_HIDDEN && vis != STV_INTERNAL)
            m.globalDefs.emplace(sym.name, i);
    }
    return Error::success();
}

struct Pass {
    const char *phase;
    const char *name;
    Error (*run)(Module &);
};

const Pass kLinkPasses[] = {
    {"read", "validate (check's structural rules)", validate},
    {"scan", "make per-CPU references indirect (far)", makeIndirectIfFar},
    {"scan", "plan the per-CPU block", planPerCpuBlock},
    {"lay out", "lay out sections, GOT, PLT and far stubs; map", layOutAndMap},
    {"place", "place the per-CPU block in every unit", placeBlock},
    {"resolve", "resolve symbols", resolveSymbols},
    {"fix up", "apply relocations", relocate},
    {"fix up", "share the per-CPU image with every unit", copyPerCpuImage},
    {"register", "register exports", registerExports},
};

const Pass kStartPasses[] = {
    {"protect", "protect, then resolve indirect functions", protect},
    {"register", "link dependents; tell the debugger", linkDependentsAndDebugger},
    {"init", "run constructors and module_init", runInitialisers},
    {"register", "publish PCPU_RTLD_GLOBAL definitions", publishGlobalDefinitions},
};

template <size_t N> Error runPasses(Module &m, const Pass (&passes)[N])
{
    for (const Pass &p : passes)
        if (Error e = p.run(m))
            return e;
    return Error::success();
}

std::unique_ptr<Module> newModule(const std::string &name, ObjectFile obj, int flags, bool far,
                                  StringRef original)
{
    auto m = std::make_unique<Module>();
    m->name = name;
    m->obj = std::move(obj);
    m->flags = flags;
    m->far = far;
    m->original = original;
    return m;
}

pcpu_module *load(const std::string &name, MemoryBufferRef buf, int flags)
{
    Loader &L = loader();
    auto parsed = readObject(name, buf);
    if (!parsed) {
        setError(describe(parsed.takeError(), name));
        return nullptr;
    }
    std::lock_guard<std::recursive_mutex> guard(L.lock);
    auto m = newModule(name, std::move(*parsed), flags, forceFar(flags), buf.getBuffer());
    Error e = runPasses(*m, kLinkPasses);
    if (e && !m->far && farPathFixes(*m)) {
        // Far reach: every failure was a per-CPU reference out of 32-bit
        // reach.  The near attempt is undone (its mapping and block given
        // back), and the same parsed object, untouched by it, goes through
        // the passes again with its per-CPU references made indirect.
        consumeError(std::move(e));
        ObjectFile obj = std::move(m->obj);
        m.reset();
        m = newModule(name, std::move(obj), flags, true, buf.getBuffer());
        e = runPasses(*m, kLinkPasses);
    }
    if (!e) {
        L.loading = m.get();
        auto notLoading = make_scope_exit([&] { L.loading = nullptr; });
        e = runPasses(*m, kStartPasses);
    }
    if (e) {
        setError(describe(std::move(e), name));
        return nullptr;
    }
    L.modules.push_back(m.get());
    return reinterpret_cast<pcpu_module *>(m.release());
}

} // namespace

namespace testing {

Expected<std::map<uint32_t, std::vector<uint8_t>>> relocateAt(const ObjectFile &obj,
                                                             const std::vector<uint64_t> &addresses)
{
    Module m;
    m.name = obj.path;
    m.obj = obj;
    m.undefinedAsZero = true;
    if (Error e = validate(m))
        return e;
    std::map<uint32_t, std::vector<uint8_t>> bytes;
    m.secAddr.assign(obj.sections.size(), 0);
    m.secData.assign(obj.sections.size(), nullptr);
    for (const Section &s : obj.sections) {
        if (!s.index || !(s.flags & SHF_ALLOC) || s.index >= addresses.size() || !addresses[s.index])
            continue;
        m.secAddr[s.index] = addresses[s.index];
        auto &b = bytes[s.index];
        b = s.type == SHT_NOBITS ? std::vector<uint8_t>(s.size, 0) : s.data;
        m.secData[s.index] = b.data();
    }
    // GOT entries and stubs get addresses below the sections but no memory
    // (their places differ from any linker's: callers leave GOT-relative
    // fields out of comparisons).
    std::vector<uint32_t> gotSyms, stubSyms;
    std::vector<std::pair<uint32_t, int64_t>> offsetSlots; // left out: no lea conversions
    unsigned farStubs = 0;                                  // nor far stubs here
    planGotAndStubs(m, gotSyms, stubSyms, offsetSlots, farStubs);
    uint64_t lowest = UINT64_MAX;
    for (uint64_t a : addresses)
        if (a)
            lowest = std::min(lowest, a);
    uint64_t at = lowest == UINT64_MAX ? 0x1000 : (lowest - (8 * gotSyms.size() + 16 * stubSyms.size()) - 4096) & ~uint64_t{15};
    m.gotEntry.assign(obj.symbols.size(), 0);
    m.pltStub.assign(obj.symbols.size(), 0);
    for (uint32_t sym : stubSyms) {
        m.pltStub[sym] = at;
        at += 16;
    }
    m.gotBase = at;
    for (uint32_t sym : gotSyms) {
        m.gotEntry[sym] = at;
        at += 8;
    }
    if (Error e = resolveSymbols(m))
        return e;
    if (Error e = relocate(m))
        return e;
    return bytes;
}

} // namespace testing
} // namespace percpu::loader

using namespace percpu::loader;

extern "C" {

pcpu_module *pcpu_dlopen(const char *path, int flags)
{
    if (!path) {
        setError("pcpu_dlopen: path is NULL");
        return nullptr;
    }
    auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buf) {
        setError(std::string(path) + ": error: cannot read: " + buf.getError().message());
        return nullptr;
    }
    return load(path, (*buf)->getMemBufferRef(), flags);
}

pcpu_module *pcpu_dlopen_mem(const void *image, size_t size, const char *name, int flags)
{
    if (!image && size) {
        setError("pcpu_dlopen_mem: image is NULL");
        return nullptr;
    }
    std::string n = name ? name : "<memory>";
    StringRef bytes(static_cast<const char *>(image), size);
    return load(n, MemoryBufferRef(bytes, n), flags);
}

void *pcpu_dlsym(pcpu_module *handle, const char *symbol)
{
    if (!handle || !symbol) {
        setError("pcpu_dlsym: NULL module or symbol");
        return nullptr;
    }
    auto *m = reinterpret_cast<Module *>(handle);
    std::lock_guard<std::recursive_mutex> guard(loader().lock);
    for (uint32_t i = 1; i < m->obj.symbols.size(); ++i) {
        const Symbol &s = m->obj.symbols[i];
        if (s.name == symbol && s.binding != STB_LOCAL && s.shndx != SHN_UNDEF)
            return reinterpret_cast<void *>(m->symAddr[i]);
    }
    // Per-CPU variables answer to both spellings: "x" finds a module of the
    // 2006 convention's per_cpu__x, "per_cpu__x" a current module's x.
    std::string other = otherPerCpuSpelling(symbol);
    for (uint32_t i = 1; i < m->obj.symbols.size(); ++i) {
        const Symbol &s = m->obj.symbols[i];
        if (s.name == other && s.binding != STB_LOCAL && s.isDefinedInSection() &&
            isPerCpuSymbol(m->obj, s))
            return reinterpret_cast<void *>(m->symAddr[i]);
    }
    setError(m->name + ": error: no symbol '" + symbol + "'");
    return nullptr;
}

int pcpu_dlclose(pcpu_module *handle)
{
    if (!handle) {
        setError("pcpu_dlclose: NULL module");
        return -1;
    }
    auto *m = reinterpret_cast<Module *>(handle);
    Loader &L = loader();
    std::lock_guard<std::recursive_mutex> guard(L.lock);
    auto it = std::find(L.modules.begin(), L.modules.end(), m);
    if (it == L.modules.end()) {
        setError("pcpu_dlclose: not a loaded module");
        return -1;
    }
    if (!m->dependents.empty()) {
        std::string names;
        for (Module *d : m->dependents)
            names += (names.empty() ? "'" : ", '") + d->name + "'";
        setError(m->name + ": error: cannot unload: used by " + names);
        return -1;
    }
    for (uint64_t fn : m->exitcalls)
        reinterpret_cast<void (*)()>(fn)();
    runDestructors(*m);
    L.modules.erase(it);
    delete m;
    return 0;
}

const char *pcpu_dlerror(void)
{
    if (!hasError)
        return nullptr;
    hasError = false;
    return lastError.c_str();
}

int pcpu_module_get_info(const pcpu_module *handle, struct pcpu_module_info *info)
{
    if (!handle || !info) {
        errno = EINVAL;
        return -1;
    }
    auto *m = reinterpret_cast<const Module *>(handle);
    info->name = m->name.c_str();
    info->percpu_bytes = m->block.size;
    info->percpu_block = reinterpret_cast<void *>(m->blockCanon);
    info->far = m->far;
    info->mapped_bytes = m->mapSize;
    return 0;
}

} // extern "C"

extern "C" int pcpu_loader_get_stats(struct pcpu_loader_stats *st)
{
    if (!st) {
        errno = EINVAL;
        return -1;
    }
    Loader &L = loader();
    std::lock_guard<std::recursive_mutex> guard(L.lock);
    st->modules = L.modules.size();
    st->exports = L.exports.size();
    st->mapped_bytes = 0;
    for (Module *m : L.modules)
        st->mapped_bytes += m->mapSize;
    return 0;
}
