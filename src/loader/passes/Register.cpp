//===- passes/Register.cpp - register: the module's exports ------------ ===//
#include "../Internal.h"

namespace percpu::loader {

Error registerExports(Module &m)
{
    Loader &L = loader();
    const Section *sec = m.obj.sectionByName("percpu_exports");
    if (!sec || !m.blocks[sec->index].addr)
        return Error::success();
    if (sec->size % sizeof(pcpu_export) || m.blocks[sec->index].addr % alignof(pcpu_export))
        return loadError(m.name, sec->name, std::nullopt, "",
                         "export table of " + std::to_string(sec->size) +
                             " bytes is not an array of export records", Rule::Malformed);
    size_t n = sec->size / sizeof(pcpu_export);
    auto *recs = reinterpret_cast<const pcpu_export *>(m.blocks[sec->index].addr);
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
                             Rule::Malformed);
        std::string name = e.name;
        if (pcpu_host_export(e.name))
            return loadError(m.name, sec->name, i * sizeof(pcpu_export), name,
                             "module exports '" + name + "', which the host already exports",
                             Rule::DuplicateExport);
        auto it = L.exports.find(name);
        if (it != L.exports.end())
            return loadError(m.name, sec->name, i * sizeof(pcpu_export), name,
                             "module exports '" + name + "', already exported by module '" +
                                 it->second.owner->name + "'",
                             Rule::DuplicateExport);
        L.exports[name] = {reinterpret_cast<uint64_t>(e.addr), e.kind, &m};
        m.exportNames.push_back(name);
    }
    return Error::success();
}

Error linkDependentsAndDebugger(Module &m)
{
    for (Module *d : m.deps)
        d->dependents.insert(&m);
    registerWithDebugger(m, m.original);
    return Error::success();
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
        const uint8_t vis = sym.visibility();
        if (sym.binding != STB_LOCAL && !sym.name.empty() && sym.type != STT_SECTION &&
            (sym.isDefinedInSection() || sym.shndx == kShnAbs || sym.shndx == kShnCommon) &&
            vis != STV_HIDDEN && vis != STV_INTERNAL)
            m.globalDefs.emplace(sym.name, i);
    }
    return Error::success();
}

} // namespace percpu::loader
