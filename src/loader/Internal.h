//===- Internal.h - the loader's parts, shared between its files ---------===//
//
//   Api.cpp        the C API (pcpu_dlopen, pcpu_dlsym, ...)
//   Module.cpp     the Module and the Loader (module list, export registry,
//                  module area), errors, the guard's describer
//   ModuleArea.h   address space for modules near the host
//   Debugger.cpp   GDB's JIT interface
//   Pipeline.cpp   loading as a list of passes (the order lives there), the
//                  C API's link policy
//   passes/        one file per pass; Tables.cpp the tables (GOT, PLT, far
//                  stubs, TLS entries), ThreadLocal.cpp thread-local data
//   Tls.h/.cpp     modules' thread-local blocks at run time (with
//                  arch/<arch>/tlsdesc.S, the TLS descriptor functions)
//   HostTarget.h   what the host's architecture provides (arch/<arch>/HostTarget.cpp)
// The object's architecture is elfpatch's Target.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_LOADER_INTERNAL_H
#define PERCPU_LOADER_INTERNAL_H

#include "Graph.h"
#include "HostTarget.h"
#include "ModuleArea.h"
#include "Tls.h"

#include "percpu/loader.h"
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
#include <tuple>
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
// As <cxxabi.h> declares them (Init.cpp includes it).
void __cxa_finalize(void *);
int __cxa_atexit(void (*)(void *), void *, void *) noexcept;
int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *);
}

using namespace llvm;
using namespace llvm::ELF;
using namespace percpu::elfpatch;
using llvm::object::ELF64LE;

struct pcpu_module; // the C handle is the Module below

namespace percpu::loader {

// ---- errors (Module.cpp) ----------------------------------------------------------------

extern thread_local std::string lastError;
extern thread_local bool hasError;
void setError(std::string msg);
Error loadError(const std::string &file, std::string section, std::optional<uint64_t> off,
                std::string symbol, std::string message, Rule rule = Rule::Load);
// Every diagnostic of `e`, one per line.
std::string describe(Error e, const std::string &file);

// ---- modules -----------------------------------------------------------------------------

struct ExportEntry {
    uint64_t addr;
    uint32_t kind;
    struct Module *owner; // nullptr: the host
};

// What one layout of the graph decides, from the per-CPU block's plan to the
// fix-up's records: the mapping and the addresses of sections, symbols, GOT
// entries and stubs.  The far-reach decision gives its memory back and
// starts again from an empty one (Module::discardPlacement), so every field
// a layout sets lives here and nowhere else.
struct Placement {
    BlockLayout block;          // the per-CPU block's plan (scan)
    uintptr_t blockCanon = 0;   // its canonical address (place)
    std::vector<uint8_t> image; // its initial contents

    uintptr_t base = 0; // the mapping (lay out)
    uint64_t mapSize = 0;
    bool inArea = false;
    bool reused = false; // the mapping came from the area's cache
    struct Region {
        uint64_t offset, size;
        int prot;
    };
    std::vector<Region> regions;

    // The link graph (Graph.h): the sections as blocks, by section index;
    // the loaded sections' relocations as edges (buildGraph); the tables'
    // entries, which edges point at once the managers rewrite them
    // (visitEdge), and by symbol, 1 + the index of its GOT word (symbol +
    // 0), PLT stub and jump slot (0: none); the other entries by what they
    // hold.
    std::vector<Block> blocks;
    std::vector<Edge> edges;
    std::vector<Entry> entries;
    uint32_t symbolCount = 0; // the object's symbols: TargetIds below are symbols
    std::vector<uint32_t> gotOf, stubOf, slotOf;
    std::map<std::tuple<EntryKind, uint32_t, int64_t>, uint32_t> entryOf;
    // The edges whose rewrite waits for addresses: calls (rewriteCalls),
    // PC-relative references from code to external data (reachFarData).
    std::vector<uint32_t> calls, farRefs;
    std::vector<uint64_t> symAddr; // by symbol index (resolve)
    // By symbol index: what the edges do with it (buildGraph, for resolve).
    enum : uint8_t { kReferenced = 1, kReferencedThreadLocal = 3 };
    std::vector<uint8_t> symbolUse;
    std::map<uint32_t, uint64_t> commonAddr;
    uint64_t gotBase = 0;
    // Thread-local data (Tls.h, passes/ThreadLocal.cpp): the module's slot,
    // its block's template (.tdata relocated, then .tbss's zeros up to
    // tlsSize) and each TLS section's offset in it, and the process's
    // thread-local symbols the module uses (the TLS entries are entries).
    uint32_t tlsSlot = 0;
    std::vector<uint8_t> tlsInit;
    uint64_t tlsSize = 0, tlsAlign = 1;
    std::vector<uint64_t> tlsOffset; // by section index
    std::map<uint32_t, tls::ProcessSymbol> processTls; // by symbol index
    uint64_t ehFrame = 0;
    uint64_t dsoHandle = 0; // the module's __dso_handle (a word in its data)
    // Indirect functions (STT_GNU_IFUNC) defined here: symbol index and
    // resolver address. As in an executable, the symbol's address everywhere
    // (calls, GOT entry, data, pcpu_dlsym) is its PLT stub, which jumps
    // through its own jump slot (slotOf) that the resolver's answer fills.
    std::vector<std::pair<uint32_t, uint64_t>> ifuncs;
    // Far stubs (room for instructions moved out of line, FarData.cpp): how
    // many the far-data pass has used.
    unsigned farStubsUsed = 0;
    // Why the far-data pass could not move an out-of-reach reference, by
    // edge index (for the relocation error).
    std::map<size_t, std::string> farDataWhy;
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
    bool toldToRecompile = false; // the -fPIC remedy was given (passes/Relocate.cpp)

    // What edge target `t` addresses: a symbol's address, or an entry's.
    uint64_t addressOf(TargetId t) const
    {
        return t < symbolCount ? symAddr[t] : entries[t - symbolCount].addr;
    }
};

// How a load lays out and resolves, chosen by its caller (the C API, from
// the flags and the environment; the test engine), never read by the
// passes from anywhere else.
struct LinkPolicy {
    bool far = false;             // per-CPU references indirect from the start
    bool undefinedAsZero = false; // undefined symbols are 0, as a linker's
                                  // --unresolved-symbols=ignore-all (testing)
};

// One module: the link graph the passes work on, and what stays of it once
// loaded.  The graph is the object parsed once (ObjectFile: sections,
// symbols, and relocations as its edges) with the Target that reads it;
// the passes add a Placement, and the start passes the rest.
struct Module : Placement {
    std::string name;
    // pcpu_dlopen() of a path already loaded returns the module again:
    // `realPath` identifies it (empty: loaded from memory), `refs` counts the
    // opens that pcpu_dlclose() has not undone.
    std::string realPath;
    unsigned refs = 1;
    ObjectFile obj;
    const Target *target = nullptr; // the machine's, shared (targetFor)
    LinkPolicy policy;
    bool far = false; // per-CPU references made indirect (elfpatch::makeIndirect)
    int flags = 0;

    std::vector<std::string> exportNames; // registered in the loader's table
    std::set<Module *> deps, dependents;
    // PCPU_RTLD_GLOBAL: the module's visible global definitions, by name.
    std::unordered_map<std::string, uint32_t> globalDefs;
    std::vector<uint64_t> finiArray, exitcalls;
    bool constructed = false;
    // Something was registered under dsoHandle (__cxa_atexit, atexit,
    // pthread_atfork, through the loader's wrappers): unloading calls
    // __cxa_finalize only then.
    bool exitHandlers = false;
    bool ehRegistered = false;
    bool loaded = false;    // fully loaded: unloading keeps reusable memory
    // thread_local destructors registered (__cxa_thread_atexit) and not yet
    // run: a closed module keeps its memory until the last has run.
    unsigned threadDtors = 0;
    bool closed = false;
    llvm::StringRef original;     // the object's bytes, while loading
    std::vector<char> debugImage; // the object with load addresses, for GDB
    jit_code_entry debugEntry{};
    bool debugRegistered = false;

    // Gives back the per-CPU block and the mapping of a layout that is not
    // kept, and forgets everything the layout decided (the far path).  Only
    // before anything was registered or run.
    void discardPlacement();
    ~Module();

private:
    void releaseMemory();
};

struct Loader {
    std::recursive_mutex lock;
    std::vector<Module *> modules;
    // pcpu_loader_set_process_scope(): when set, a process symbol resolves
    // only into the program or an object whose file name starts with one of
    // these (the libraries a host lets modules use).
    bool scoped = false;
    std::vector<std::string> scope;
    Module *loading = nullptr; // the module whose resolvers or init run
    // Unloaded modules whose thread_local destructors some thread has yet
    // to run (passes/ThreadLocal.cpp frees each after its last).
    std::vector<Module *> closing;
    std::unordered_map<std::string, ExportEntry> exports;
    ModuleArea area;
};

Loader &loader();

// The module's tables (passes/Tables.cpp), JITLink's table managers: each
// adds its entries as it visits the edges and rewrites the edges that use
// them (visitEdge), and is then placed in its region of the mapping and,
// once symbols are resolved, written.
struct Table {
    const char *name;
    int prot; // the region it is laid out in
    unsigned align;
    bool (*holds)(EntryKind);
    Error (*write)(Module &); // after resolve
};
extern const Table kTables[];
extern const size_t kTableCount;
// The graph: blocks and edges from the object, each edge visited by the
// tables' managers as it is added (passes/Tables.cpp).
Error buildGraph(Module &m);
uint64_t entrySize(const Module &m, EntryKind k);
uint64_t tableBytes(const Module &m, const Table &t);
// Gives table `t`'s entries their addresses from `at` on.
void placeTable(Module &m, const Table &t, uint64_t at);
Error writeTables(Module &m);
// The entry of `kind` for (symbol, k), added when new; its TargetId.
TargetId entryFor(Module &m, EntryKind kind, uint32_t symbol, int64_t k = 0);
// An existing entry's TargetId, or nothing.
std::optional<TargetId> findEntry(const Module &m, EntryKind kind, uint32_t symbol, int64_t k = 0);
const Entry *entryOfSymbol(const Module &m, const std::vector<uint32_t> &by, uint32_t symbol);
// After resolve: calls out of the branch's reach go to their stubs.
Error rewriteCalls(Module &m);

// ---- what the files share ------------------------------------------------------------

// Module.cpp
int describeModuleAddress(uintptr_t addr, char *buf, size_t len);
// ProgramRange.cpp: whether `p` lies in one of the program's own segments.
bool addressInProgram(const void *p);
// Debugger.cpp
void registerWithDebugger(Module &m, StringRef original);
void unregisterFromDebugger(Module &m);
// passes/Validate.cpp
bool isPerCpuSection(const Section &s);
bool loadable(const Section &s);
int permOf(const Section &s);
// passes/Resolve.cpp
Module *moduleAt(uint64_t addr);
Module *moduleWithDso(const void *dso);
bool objectInScope(StringRef file, std::string &where);
// passes/Init.cpp
std::vector<uint64_t> pointersOf(const Module &m, StringRef name);
void runDestructors(Module &m);
// passes/Validate.cpp
Error checkHostMachine(Module &m);
// passes/ThreadLocal.cpp
Error layOutTls(Module &m);
void visitTls(Module &m, Edge &e);
Error resolveProcessTls(Module &m, uint32_t index);
Error writeTlsEntries(Module &m);
Error tlsModels(Module &m);
bool isTlsSection(const Section &s);
void *threadLocalFunction(const std::string &name);
// Unloads `m` (its destructors have run) unless thread_local destructors
// are pending, in which case the last of them does.
void unloadOrDefer(Module *m);
// Pipeline.cpp
pcpu_module *load(const std::string &name, MemoryBufferRef buf, int flags, LinkPolicy policy);
LinkPolicy policyFor(int flags);

// The passes, one file each in passes/ (Pipeline.cpp lists them in order).
using Pass = Error (*)(Module &);
Error validate(Module &m);                  // Validate.cpp
Error makeIndirectIfFar(Module &m);         // Place.cpp
Error planPerCpuBlock(Module &m);           // Place.cpp
Error layOutAndMap(Module &m);              // Layout.cpp
Error placeBlock(Module &m);                // Place.cpp
Error copyPerCpuImage(Module &m);           // Place.cpp
Error publishTls(Module &m);                // ThreadLocal.cpp
void copyImage(Module &m);                  // Place.cpp
Error resolveSymbols(Module &m);            // Resolve.cpp
Error reachFarData(Module &m);              // FarData.cpp
Error relocate(Module &m);                  // Relocate.cpp
bool farPathFixes(const Module &m);         // Relocate.cpp
Error registerExports(Module &m);           // Register.cpp
Error linkDependentsAndDebugger(Module &m); // Register.cpp
Error publishGlobalDefinitions(Module &m);  // Register.cpp
Error protect(Module &m);                   // Protect.cpp
Error runInit(Module &m);                   // Init.cpp
Error runInitialisers(Module &m);           // Init.cpp
Error dropLinkState(Module &m);             // Release.cpp

} // namespace percpu::loader

#endif
