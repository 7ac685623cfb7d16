//===- passes/ThreadLocal.cpp - a module's thread-local data (Tls.h) -------===//
//
// read:    tlsModels refuses, before anything is mapped, what has no fixed
//          meaning without a static reserve: initial and local exec against
//          the module's own TLS (and the unsupported forms)
// lay out: layOutTls builds the block's template from .tdata/.tbss and
//          reserves a slot; visitTls, the TLS table's manager, adds the
//          pairs, descriptors and initial-exec words (placed beside the GOT)
//          and points the TLS edges at them
// resolve: resolveProcessTls finds a thread-local symbol of the process
// fix up: writeTlsEntries fills the entries
// publish: publishTls makes the template live, before any constructor runs
// unload:  thread_local destructors (__cxa_thread_atexit) keep a closed
//          module's memory until the last has run
//===----------------------------------------------------------------------===//
#include "../Internal.h"

namespace percpu::loader {

bool isTlsSection(const Section &s) { return s.index && (s.flags & SHF_ALLOC) && (s.flags & SHF_TLS); }

Error tlsModels(Module &m)
{
    const ObjectFile &o = m.obj;
    // By symbol: undefined (0), defined (1), defined thread-local data of
    // this module (2); one lookup per relocation instead of the symbol's
    // and its section's (this pass was a fifth of a large module's load).
    enum : uint8_t { kUndefined, kDefined, kThreadLocal };
    std::vector<uint8_t> cls(o.symbols.size(), kUndefined);
    for (uint32_t i = 1; i < o.symbols.size(); ++i) {
        const Symbol &s = o.symbols[i];
        if (s.shndx == SHN_UNDEF)
            continue;
        cls[i] = (s.shndx < o.sections.size() && s.isDefinedInSection() && isTlsSection(o.sections[s.shndx])) ||
                         StringRef(s.name) == "_TLS_MODULE_BASE_"
                     ? kThreadLocal
                     : kDefined;
    }
    for (const auto &[rela, list] : o.relocs) {
        const Section &t = o.sections[o.relocTarget(rela)];
        if (!(t.flags & SHF_ALLOC))
            continue;
        for (const Reloc &r : list) {
            const uint8_t c = cls[r.symbol];
            const RelExpr kind = m.target->relExpr(r.type);
            // A TLS relocation names thread-local data; any other relocation
            // names something with one address for every thread.
            if (c != kUndefined && kind != RelExpr::None && (kind == RelExpr::TLS) != (c == kThreadLocal) &&
                m.target->tlsReloc(r.type).use != TlsUse::Marker) {
                const Symbol &sym = o.symbols[r.symbol];
                const std::string name = sym.type == STT_SECTION ? o.sectionLabel(sym.shndx) : sym.name;
                return loadError(m.name, t.name, r.offset, name,
                                 "relocation " + m.target->relocName(r.type).str() + " against '" + name +
                                     (kind == RelExpr::TLS ? "', which is not thread-local data"
                                                        : "', thread-local data, which has no address "
                                                          "outside a thread's block"),
                                 Rule::Malformed);
            }
            if (kind != RelExpr::TLS)
                continue;
            if (Error e = m.target->tlsModelAllowed(r.type, c != kUndefined, [&] {
                    Diagnostic d;
                    d.file = m.name;
                    d.section = t.name;
                    d.offset = r.offset;
                    // gcc's section anchors name no variable: the one there.
                    const TlsReloc tr = m.target->tlsReloc(r.type);
                    d.symbol = o.referencedName(r.symbol, tr.expr == RelExpr::Absolute ? r.addend : 0);
                    return d;
                }))
                return e;
        }
    }
    return Error::success();
}

Error layOutTls(Module &m)
{
    const ObjectFile &o = m.obj;
    m.tlsOffset.assign(o.sections.size(), 0);
    uint64_t at = 0, initEnd = 0, align = 1;
    bool any = false;
    for (bool nobits : {false, true})
        for (const Section &s : o.sections) {
            if (!isTlsSection(s) || (s.type == SHT_NOBITS) != nobits)
                continue;
            any = true;
            const uint64_t a = std::max<uint64_t>(1, s.addralign);
            if (!isPowerOf2_64(a) || a > kPage)
                return loadError(m.name, s.name, std::nullopt, "",
                                 "thread-local section has alignment " + std::to_string(a) +
                                     " (at most a page, a power of two)",
                                 Rule::Malformed);
            align = std::max(align, a);
            at = alignTo(at, a);
            m.tlsOffset[s.index] = at;
            at += s.size;
            if (!nobits)
                initEnd = at;
        }
    // A local-dynamic pair with no TLS section still names the module.
    const bool ld = findEntry(m, EntryKind::TlsLdPair, 0).has_value();
    if (!any && !ld)
        return Error::success();
    m.tlsSize = at;
    m.tlsAlign = align;
    m.tlsInit.assign(initEnd, 0);
    for (const Section &s : o.sections)
        if (isTlsSection(s) && s.type != SHT_NOBITS) {
            if (!s.data.empty())
                std::memcpy(m.tlsInit.data() + m.tlsOffset[s.index], s.data.data(), s.data.size());
            m.blocks[s.index].data = m.tlsInit.data() + m.tlsOffset[s.index]; // its relocations apply here
        }
    m.tlsSlot = tls::reserve();
    if (!m.tlsSlot)
        return loadError(m.name, "", std::nullopt, "", "cannot reserve a thread-local slot");
    return Error::success();
}

// The TLS manager (Tables.cpp): a TLS edge reads an entry (a pair, a
// descriptor, an initial-exec word), which it now computes against, or the
// symbol's offset in a block.
void visitTls(Module &m, Edge &e)
{
    if (e.kind != RelExpr::TLS)
        return;
    const TlsReloc tr = m.target->tlsReloc(e.type);
    e.kind = tr.expr;
    EntryKind kind;
    switch (tr.use) {
    case TlsUse::LdPair:
        e.target = entryFor(m, EntryKind::TlsLdPair, 0);
        e.kind = throughEntry(tr.expr);
        return;
    case TlsUse::GdPair: kind = EntryKind::TlsGdPair; break;
    case TlsUse::Descriptor: kind = EntryKind::TlsDescriptor; break;
    case TlsUse::IeEntry: kind = EntryKind::TlsIe; break;
    case TlsUse::DtpOffset:
        if (m.obj.symbols[e.symbol].shndx == SHN_UNDEF)
            e.kind = RelExpr::Unknown; // an offset in another object's block: refused
        return;
    default: return;
    }
    e.target = entryFor(m, kind, e.symbol);
    e.kind = throughEntry(tr.expr);
}

// A thread-local definition of a module loaded with PCPU_RTLD_GLOBAL, as
// a pair naming that module's block (the module is a dependency).
std::optional<tls::ProcessSymbol> globalModuleTls(Module &m, const std::string &name)
{
    for (Module *g : loader().modules) {
        auto it = g->globalDefs.find(name);
        if (it == g->globalDefs.end() || g->obj.symbols[it->second].type != STT_TLS || !g->tlsSlot)
            continue;
        m.deps.insert(g);
        tls::ProcessSymbol p;
        p.module = tls::kModuleTag | g->tlsSlot;
        p.offset = g->symAddr[it->second];
        p.object = g->name;
        p.inModule = true;
        return p;
    }
    return std::nullopt;
}

// A thread-local symbol the module leaves undefined: the process's (the
// program's or a shared library's, by glibc's module id and offset), or a
// PCPU_RTLD_GLOBAL module's, in the order ordinary symbols resolve
// (PCPU_RTLD_DEEPBIND puts those modules first).
Error resolveProcessTls(Module &m, uint32_t index)
{
    const Symbol &s = m.obj.symbols[index];
    Loader &L = loader();
    std::optional<tls::ProcessSymbol> p;
    if (m.flags & PCPU_RTLD_DEEPBIND)
        p = globalModuleTls(m, s.name);
    if (!p && !(m.flags & PCPU_RTLD_NO_PROCESS_SYMBOLS))
        p = tls::processSymbol(s.name.c_str());
    if (!p)
        p = globalModuleTls(m, s.name);
    if (!p)
        return loadError(m.name, "", std::nullopt, s.name,
                         "undefined thread-local symbol '" + s.name +
                             "' (no thread-local variable of the process, nor of a module loaded with "
                             "PCPU_RTLD_GLOBAL, has this name)",
                         Rule::UndefinedSymbol);
    std::string where;
    if (L.scoped && !p->object.empty() && !p->inModule && !objectInScope(p->object, where))
        return loadError(m.name, "", std::nullopt, s.name,
                         "undefined thread-local symbol '" + s.name + "' (defined in the process only by " +
                             where + ", outside the libraries this host lets modules use)",
                         Rule::UndefinedSymbol);
    m.processTls[index] = std::move(*p);
    return Error::success();
}

Error writeTlsEntries(Module &m)
{
    const uint64_t ownModule = tls::kModuleTag | m.tlsSlot;
    auto put = [](uint64_t at, std::initializer_list<uint64_t> words) {
        for (uint64_t w : words) {
            support::endian::write64le(reinterpret_cast<void *>(at), w);
            at += 8;
        }
    };
    const auto dynamic = reinterpret_cast<uint64_t>(&pcpu_tlsdesc_dynamic);
    const auto fixed = reinterpret_cast<uint64_t>(&pcpu_tlsdesc_return);
    for (const Entry &entry : m.entries) {
        const uint64_t at = entry.addr;
        const uint32_t sym = entry.symbol;
        TlsUse use;
        switch (entry.kind) {
        case EntryKind::TlsLdPair: put(at, {ownModule, 0}); continue;
        case EntryKind::TlsGdPair: use = TlsUse::GdPair; break;
        case EntryKind::TlsDescriptor: use = TlsUse::Descriptor; break;
        case EntryKind::TlsIe: use = TlsUse::IeEntry; break;
        default: continue;
        }
        auto proc = m.processTls.find(sym);
        const bool own = proc == m.processTls.end();
        const std::string &name = m.obj.symbols[sym].name;
        if (own && (!m.tlsSlot || use == TlsUse::IeEntry)) // malformed: tlsModels lets neither through otherwise
            return loadError(m.name, "", std::nullopt, name,
                             "thread-local reference to '" + name + "' in the module's own block, but " +
                                 (m.tlsSlot ? "by initial exec" : "the module has no thread-local data"),
                             Rule::Malformed);
        const uint64_t module = own ? ownModule : proc->second.module;
        const uint64_t offset = own ? m.symAddr[sym] : proc->second.offset;
        switch (use) {
        case TlsUse::GdPair: put(at, {module, offset}); break;
        case TlsUse::Descriptor:
            if (!own && proc->second.tpOffset)
                put(at, {fixed, static_cast<uint64_t>(*proc->second.tpOffset), 0, 0});
            else
                put(at, {dynamic, at + 16, module, offset});
            break;
        case TlsUse::IeEntry: {
            // tlsModels refused the module's own symbols.
            const tls::ProcessSymbol &p = proc->second;
            if (!p.tpOffset) {
                return loadError(m.name, "", std::nullopt, name,
                                 "initial-exec access to thread-local symbol '" + name + "' of " +
                                     (p.inModule ? "module '" + p.object + "', whose thread-local data"
                                      : (p.object.empty() ? std::string("the program") : p.object) +
                                            ", which is not in glibc's static TLS (loaded by dlopen): it") +
                                     " has no fixed offset from the thread pointer; compile the module with "
                                     "-fPIC, or -ftls-model=global-dynamic",
                                 Rule::UnsupportedRelocation);
            }
            put(at, {static_cast<uint64_t>(*p.tpOffset)});
            break;
        }
        default: break;
        }
    }
    return Error::success();
}

Error publishTls(Module &m)
{
    if (m.tlsSlot)
        tls::publish(m.tlsSlot, m.tlsInit.data(), m.tlsInit.size(), m.tlsSize, m.tlsAlign);
    return Error::success();
}

// ---- thread_local destructors -----------------------------------------------------------

namespace {
struct ThreadDtor {
    void (*fn)(void *);
    void *obj;
    Module *module;
};

extern "C" void pcpuRunThreadDtor(void *p)
{
    auto *d = static_cast<ThreadDtor *>(p);
    d->fn(d->obj);
    Loader &L = loader();
    std::lock_guard<std::recursive_mutex> guard(L.lock);
    Module *m = d->module;
    delete d;
    if (--m->threadDtors == 0 && m->closed) {
        L.closing.erase(std::find(L.closing.begin(), L.closing.end(), m));
        delete m;
    }
}
} // namespace

} // namespace percpu::loader

extern "C" {
// glibc's: runs fn(obj) when the calling thread exits, keeping `dso`'s
// object loaded until then.
int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);
extern void *__dso_handle;
}

namespace percpu::loader {
namespace {

// What module code calls as __cxa_thread_atexit (libstdc++'s) or
// __cxa_thread_atexit_impl (glibc's): the destructor runs at thread exit
// as glibc's would, and the module it belongs to stays mapped until it has.
extern "C" int pcpuModuleThreadAtexit(void (*fn)(void *), void *obj, void *dso)
{
    Module *m = nullptr;
    {
        std::lock_guard<std::recursive_mutex> guard(loader().lock);
        m = moduleWithDso(dso);
        if (!m)
            m = moduleAt(reinterpret_cast<uint64_t>(fn));
        if (m)
            ++m->threadDtors;
    }
    if (!m)
        return __cxa_thread_atexit_impl(fn, obj, dso);
    auto *d = new ThreadDtor{fn, obj, m};
    return __cxa_thread_atexit_impl(pcpuRunThreadDtor, d, &__dso_handle);
}
} // namespace

// The functions module code calls for thread-local data, by name.
void *threadLocalFunction(const std::string &name)
{
    if (name == "__cxa_thread_atexit" || name == "__cxa_thread_atexit_impl")
        return reinterpret_cast<void *>(&pcpuModuleThreadAtexit);
    if (name == "__tls_get_addr")
        return reinterpret_cast<void *>(&pcpu_tls_get_addr);
    return nullptr;
}

void unloadOrDefer(Module *m)
{
    Loader &L = loader();
    if (!m->threadDtors) {
        delete m;
        return;
    }
    // What a new load could collide with goes now; the memory when the last
    // destructor has run.
    for (const std::string &n : m->exportNames)
        L.exports.erase(n);
    m->exportNames.clear();
    for (Module *d : m->deps)
        d->dependents.erase(m);
    m->deps.clear();
    m->closed = true;
    L.closing.push_back(m);
}

} // namespace percpu::loader
