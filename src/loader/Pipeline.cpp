//===- Pipeline.cpp - loading as passes over a module ----------------------===//
//
// Loading runs lists of passes over one Module, the link graph (see
// kLinkPasses, kLayoutPasses and kStartPasses below), each pass
// `llvm::Error pass(Module &)`, in phases:
//
//   read -> scan (make indirect when far; plan the per-CPU block) -> lay out
//   and map (sections by permission, GOT, PLT, far stubs) -> place the
//   per-CPU block -> resolve symbols -> fix up (relocations, the per-CPU
//   image into every unit) -> register exports | protect (then IFUNC
//   resolvers) -> debugger -> init (constructors, module_init) -> publish
//   -> drop what only linking needed
//
// A failure in any pass unwinds everything done so far (the Module
// destructor releases what it holds), so a failed load leaves the
// allocator, the export registry and the address space as they were.
//
// Reach: module code addresses its own and the host's data with 32-bit
// PC-relative displacements.  Modules are mapped in a "module area" reserved
// near the host image (like the kernel's module space), and the first chunk
// of per-CPU units is canonically addressed near the host too, so the default
// placement needs no extra instruction.  When a per-CPU reference does not
// reach (the fix-up pass records the overflows; farPathFixes reads them), the
// far-reach decision (layOutAndReach) applies elfpatch::makeIndirect to the
// graph in memory, so that per-CPU address computations load full addresses
// from slots, and lays it out again; the policy (PCPU_RTLD_FAR, PERCPU_FORCE_FAR=1) asks
// for that from the start.
//
// Synchronisation: one mutex (Loader::lock) protects the module list, the
// export registry and the module area.  Per-CPU data of a loaded module is
// used by module code without any lock, like host data.
//===----------------------------------------------------------------------===//
#include "Internal.h"

namespace percpu::loader {


// The C API's policy: PCPU_RTLD_FAR, or PERCPU_FORCE_FAR=1 in the
// environment (the test suite's far runs), lays every module out far.
LinkPolicy policyFor(int flags)
{
    LinkPolicy p;
    const char *e = getenv("PERCPU_FORCE_FAR");
    p.far = (flags & PCPU_RTLD_FAR) || (e && *e && strcmp(e, "0") != 0);
    return p;
}

// ---- the pipeline ---------------------------------------------------------------------
//
// Loading is lists of passes over one Module; a failure in any pass unwinds
// everything done so far (~Module).  The link passes run no module code; the
// start passes may (indirect-function resolvers, constructors, module_init),
// with the module registered as the one loading so that the handlers it
// installs belong to it.  Each pass's body lives in passes/; this file holds
// only the tables, in order, and the driver.

template <size_t N> Error runPasses(Module &m, const Pass (&passes)[N])
{
    for (Pass run : passes)
        if (Error e = run(m))
            return e;
    return Error::success();
}

// One layout of the graph, from the per-CPU block's plan to the fixed-up
// image; everything these passes decide is the module's Placement.
const Pass kLayoutPasses[] = {
    buildGraph,       // scan: sections as blocks, relocations as edges, planned by the tables (Tables.cpp)
    planPerCpuBlock,  // scan: the per-CPU block's canonical layout (Place.cpp)
    layOutAndMap,     // lay out: the tables' managers plan and rewrite edges; sections,
                      // GOT, PLT, far stubs, TLS entries; map (Layout.cpp)
    placeBlock,       // place: the per-CPU block in every unit (Place.cpp)
    resolveSymbols,   // resolve: every symbol's address (Resolve.cpp)
    writeTables,      // fix up: GOT, PLT stubs, TLS entries (Tables.cpp)
    rewriteCalls,     // fix up: calls out of reach to their stubs (Tables.cpp)
    reachFarData,     // fix up: external data out of range (FarData.cpp)
    relocate,         // fix up: the edges (Relocate.cpp)
};

// Lays the graph out near; when every failure of the fix-up was a per-CPU
// reference out of 32-bit reach (the fix-up's overflow records, which
// farPathFixes reads), the far-reach decision rewrites the graph in memory
// (elfpatch::makeIndirect: per-CPU address computations load full addresses
// from slots), gives the near placement back and lays the graph out again.
// The object is not parsed again, nor validated again.
Error layOutAndReach(Module &m)
{
    Error e = runPasses(m, kLayoutPasses);
    if (!e || m.far || !farPathFixes(m))
        return e;
    consumeError(std::move(e));
    m.discardPlacement();
    m.far = true;
    if (auto n = makeIndirect(m.obj); !n)
        return n.takeError();
    return runPasses(m, kLayoutPasses);
}

const Pass kLinkPasses[] = {
    validate,          // read: check's structural rules, the loader's (Validate.cpp)
    checkHostMachine,  // read: built for the host's machine (Validate.cpp)
    makeIndirectIfFar, // scan: per-CPU references indirect, PCPU_RTLD_FAR (Place.cpp)
    layOutAndReach,    // lay out .. fix up: the layout passes, near, then far if needed
    copyPerCpuImage,   // fix up: the per-CPU image into every unit (Place.cpp)
    publishTls,        // fix up: the TLS template live for threads (ThreadLocal.cpp)
    registerExports,   // register: the module's exports (Register.cpp)
};

const Pass kStartPasses[] = {
    protect,                   // protect, then resolve indirect functions (Protect.cpp)
    linkDependentsAndDebugger, // register: dependents; the debugger (Register.cpp)
    runInitialisers,           // init: constructors and module_init (Init.cpp)
    publishGlobalDefinitions,  // register: PCPU_RTLD_GLOBAL definitions (Register.cpp)
    dropLinkState,             // drop what only linking needed (Release.cpp)
};

pcpu_module *load(const std::string &name, MemoryBufferRef buf, int flags, LinkPolicy policy)
{
    Loader &L = loader();
    auto parsed = readObject(name, buf);
    if (!parsed) {
        setError(describe(parsed.takeError(), name));
        return nullptr;
    }
    std::lock_guard<std::recursive_mutex> guard(L.lock);
    auto m = std::make_unique<Module>();
    m->name = name;
    m->obj = std::move(*parsed);
    m->flags = flags;
    m->policy = policy;
    m->far = policy.far;
    m->original = buf.getBuffer();
    Error e = runPasses(*m, kLinkPasses);
    if (!e) {
        L.loading = m.get();
        auto notLoading = make_scope_exit([&] { L.loading = nullptr; });
        e = runPasses(*m, kStartPasses);
    }
    if (e) {
        setError(describe(std::move(e), name));
        if (m->threadDtors) // a constructor's thread_local destructors are pending
            unloadOrDefer(m.release());
        return nullptr;
    }
    L.modules.push_back(m.get());
    return reinterpret_cast<pcpu_module *>(m.release());
}

} // namespace percpu::loader
