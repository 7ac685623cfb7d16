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
// from slots, and lays it out again; PCPU_RTLD_FAR / PERCPU_FORCE_FAR=1 asks
// for that from the start.
//
// Synchronisation: one mutex (Loader::lock) protects the module list, the
// export registry and the module area.  Per-CPU data of a loaded module is
// used by module code without any lock, like host data.
//===----------------------------------------------------------------------===//
#include "Internal.h"

namespace percpu::loader {

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

// What only linking needed goes once the module runs: the sections' bytes
// (the mapping and the units hold them now), the relocations, the per-CPU
// image, the GOT/PLT/far-data bookkeeping.  A loaded module keeps its
// symbols and their addresses (pcpu_dlsym, the guard's describer), its
// sections' headers, its mapping and its block.
template <typename T> void release(T &container) { T().swap(container); }

Error dropLinkState(Module &m)
{
    for (Section &s : m.obj.sections) {
        release(s.data);
        release(s.instructionIndex);
    }
    release(m.obj.relocs);
    release(m.image);
    release(m.secData);
    release(m.gotEntry);
    release(m.pltStub);
    release(m.gotOffsetEntry);
    release(m.commonAddr);
    release(m.farData);
    release(m.overflows);
    release(m.regions);
    release(m.ifuncs);
    m.original = {};
    return Error::success();
}

struct Pass {
    const char *phase;
    const char *name;
    Error (*run)(Module &);
};

template <size_t N> Error runPasses(Module &m, const Pass (&passes)[N])
{
    for (const Pass &p : passes)
        if (Error e = p.run(m))
            return e;
    return Error::success();
}

// One layout of the graph, from the per-CPU block's plan to the fixed-up
// image; everything these passes decide is the module's Placement.
const Pass kLayoutPasses[] = {
    {"scan", "plan the per-CPU block", planPerCpuBlock},
    {"lay out", "lay out sections, GOT, PLT and far stubs; map", layOutAndMap},
    {"place", "place the per-CPU block in every unit", placeBlock},
    {"resolve", "resolve symbols", resolveSymbols},
    {"fix up", "write GOT entries and PLT stubs", writeGotAndStubs},
    {"fix up", "reach external data out of range (GOT loads, far stubs)", reachFarData},
    {"fix up", "apply relocations", relocate},
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
    {"read", "validate (check's structural rules)", validate},
    {"read", "the host's machine", checkHostMachine},
    {"scan", "make per-CPU references indirect (PCPU_RTLD_FAR)", makeIndirectIfFar},
    {"lay out .. fix up", "the layout passes above, near, then far if the fix-up says so", layOutAndReach},
    {"fix up", "share the per-CPU image with every unit", copyPerCpuImage},
    {"register", "register exports", registerExports},
};

const Pass kStartPasses[] = {
    {"protect", "protect, then resolve indirect functions", protect},
    {"register", "link dependents; tell the debugger", linkDependentsAndDebugger},
    {"init", "run constructors and module_init", runInitialisers},
    {"register", "publish PCPU_RTLD_GLOBAL definitions", publishGlobalDefinitions},
    {"register", "drop what only linking needed", dropLinkState},
};

pcpu_module *load(const std::string &name, MemoryBufferRef buf, int flags)
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
    m->far = forceFar(flags);
    m->original = buf.getBuffer();
    Error e = runPasses(*m, kLinkPasses);
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

} // namespace percpu::loader
