//===- passes/Resolve.cpp - resolve: symbols by the search order of <percpu/loader.h> -- ===//
#include "../Internal.h"

namespace percpu::loader {

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

// The module whose __dso_handle is `dso`, or null. Called with the loader's
// lock held.
Module *moduleWithDso(const void *dso)
{
    Loader &L = loader();
    const auto handle = reinterpret_cast<uint64_t>(dso);
    if (!handle)
        return nullptr;
    if (L.loading && L.loading->dsoHandle == handle)
        return L.loading;
    for (Module *m : L.modules)
        if (m->dsoHandle == handle)
            return m;
    return nullptr;
}

// The __dso_handle of the module that owns a handler (by the handler's
// address, then by the caller's), or null for code outside modules; the
// module is marked as having handlers for __cxa_finalize to run or forget.
void *dsoHandleFor(const void *handler, const void *caller)
{
    std::lock_guard<std::recursive_mutex> guard(loader().lock);
    Module *m = moduleAt(reinterpret_cast<uint64_t>(handler));
    if (!m)
        m = moduleAt(reinterpret_cast<uint64_t>(caller));
    if (!m)
        return nullptr;
    m->exitHandlers = true;
    return reinterpret_cast<void *>(m->dsoHandle);
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

// libc's __cxa_atexit, as module code calls it (C++ static destructors,
// under the module's __dso_handle): the same registration, and a mark on
// the module, so that unloading one that registered nothing skips
// __cxa_finalize, which walks every handler of the process.
extern "C" int pcpuModuleCxaAtexit(void (*fn)(void *), void *arg, void *dso)
{
    {
        std::lock_guard<std::recursive_mutex> guard(loader().lock);
        if (Module *m = moduleWithDso(dso))
            m->exitHandlers = true;
    }
    return __cxa_atexit(fn, arg, dso);
}

// Whether a process symbol at `p` may be used: always without a scope;
// with one, when it lies in the program itself or in an object whose file
// name starts with a scope entry.  Else `where` names the object.
bool inProcessScope(void *p, std::string &where)
{
    Loader &L = loader();
    if (!L.scoped || addressInProgram(p))
        return true;
    Dl_info info{};
    if (!dladdr(p, &info) || !info.dli_fname)
        return true; // not in any object (an absolute symbol): nothing to refuse
    return objectInScope(info.dli_fname, where);
}

// Whether the loaded object `file` is one a scoped host lets modules use:
// its file name starts with a scope entry, or it is one.  Else `where` is
// its file name.
bool objectInScope(StringRef file, std::string &where)
{
    StringRef base = file.rsplit('/').second.empty() ? file : file.rsplit('/').second;
    for (const std::string &e : loader().scope)
        if (startsWith(base, e) || file == e)
            return true;
    where = base.str();
    return false;
}

void *nonsharedFunction(const std::string &name)
{
    if (name == "atexit")
        return reinterpret_cast<void *>(&pcpuModuleAtexit);
    if (name == "pthread_atfork" || name == "__pthread_atfork")
        return reinterpret_cast<void *>(&pcpuModulePthreadAtfork);
    if (name == "__cxa_atexit")
        return reinterpret_cast<void *>(&pcpuModuleCxaAtexit);
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
                         Rule::KindMismatch);
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
        if (void *p = nonsharedFunction(s.name); p || (p = threadLocalFunction(s.name))) {
            addr = reinterpret_cast<uint64_t>(p);
            return Error::success();
        }
    }
    std::string outOfScope; // the object a process symbol was refused in
    if (!wantPerCpu && !(m.flags & PCPU_RTLD_NO_PROCESS_SYMBOLS)) {
        if (void *p = dlsym(RTLD_DEFAULT, s.name.c_str())) {
            if (inProcessScope(p, outOfScope)) {
                addr = reinterpret_cast<uint64_t>(p);
                return Error::success();
            }
        }
        if (void *p = hostTarget().compilerHelper(s.name.c_str())) {
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
    if (!outOfScope.empty())
        return loadError(m.name, "", std::nullopt, s.name,
                         "undefined symbol '" + s.name + "' (defined in the process only by " + outOfScope +
                             ", outside the libraries this host lets modules use; with percpu-load, add "
                             "--lib " + outOfScope + ")",
                         Rule::UndefinedSymbol);
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
                     Rule::UndefinedSymbol);
}

// ELF's rule for a module's weak definition: an earlier definition of the
// name in the search order wins (a host or module export, a GLOBAL module's
// definition) when it is of the same kind.  The process is not consulted:
// C++ inline functions and template instances are weak, and binding them to
// another copy in a shared library would gain nothing.
std::optional<uint64_t> earlierDefinition(Module &m, const Symbol &s)
{
    if (s.name.empty() || s.visibility() == STV_HIDDEN || s.visibility() == STV_INTERNAL)
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

// Undefined symbols resolve by the search order, or, with the policy
// undefinedAsZero (testing's engine), to 0.
Error resolveSymbols(Module &m)
{
    const bool undefinedAsZero = m.policy.undefinedAsZero;
    const ObjectFile &o = m.obj;
    m.symAddr.assign(o.symbols.size(), 0);
    auto referenced = [&](uint32_t i) { return (m.symbolUse[i] & Module::kReferenced) != 0; };
    auto threadLocal = [&](uint32_t i) { return m.symbolUse[i] == Module::kReferencedThreadLocal; };
    Error errors = Error::success();
    for (uint32_t i = 1; i < o.symbols.size(); ++i) {
        const Symbol &s = o.symbols[i];
        if (s.shndx == SHN_UNDEF) {
            if (!referenced(i) || s.name.empty() || undefinedAsZero)
                continue;
            if (s.name == "_TLS_MODULE_BASE_") {
                // The linker's symbol for the start of the module's own
                // block (local dynamic through TLS descriptors): offset 0.
                m.symAddr[i] = 0;
                continue;
            }
            if (threadLocal(i) || s.type == STT_TLS) { // the process's (ThreadLocal.cpp)
                if (Error e = resolveProcessTls(m, i))
                    errors = joinErrors(std::move(errors), std::move(e));
                continue;
            }
            uint64_t a = 0;
            if (Error e = lookup(m, i, a))
                errors = joinErrors(std::move(errors), std::move(e));
            m.symAddr[i] = a;
        } else if (s.shndx == kShnAbs) {
            m.symAddr[i] = s.value;
        } else if (s.shndx == kShnCommon) {
            m.symAddr[i] = m.commonAddr[i];
        } else if (s.shndx < o.sections.size() && isTlsSection(o.sections[s.shndx]) &&
                   s.shndx < m.tlsOffset.size()) {
            // Thread-local: the offset in the module's block.
            m.symAddr[i] = m.tlsOffset[s.shndx] + (s.type == STT_SECTION ? 0 : s.value);
        } else if (s.shndx < o.sections.size()) {
            uint64_t base = m.blocks[s.shndx].addr;
            if (!base && referenced(i))
                errors = joinErrors(std::move(errors),
                                    loadError(m.name, o.sectionLabel(s.shndx), s.value, s.name,
                                              "symbol '" + s.name + "' is defined in section '" +
                                                  o.sectionLabel(s.shndx) + "', which is not loaded"));
            m.symAddr[i] = base + (s.type == STT_SECTION ? 0 : s.value);
            if (s.binding == STB_WEAK && s.type != STT_GNU_IFUNC)
                if (std::optional<uint64_t> earlier = earlierDefinition(m, s))
                    m.symAddr[i] = *earlier;
            const Entry *stub = entryOfSymbol(m, m.stubOf, i);
            if (s.type == STT_GNU_IFUNC && stub) {
                if (!(o.sections[s.shndx].flags & SHF_EXECINSTR) || s.value >= o.sections[s.shndx].size)
                    errors = joinErrors(std::move(errors),
                                        loadError(m.name, o.sectionLabel(s.shndx), s.value, s.name,
                                                  "indirect function '" + s.name +
                                                      "' has its resolver outside executable code",
                                                  Rule::Malformed));
                m.ifuncs.emplace_back(i, m.symAddr[i]);
                m.symAddr[i] = stub->addr;
            }
        }
    }
    return errors;
}

} // namespace percpu::loader
