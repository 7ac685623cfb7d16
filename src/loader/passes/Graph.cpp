//===- passes/Graph.cpp - scan: the object as a link graph (Graph.h) -------===//
#include "../Internal.h"

namespace percpu::loader {

// One block per section (placed by layout and place), one edge per
// relocation of an allocated section, its kind the Target's and its target
// the symbol it names.  Run at the start of every layout: the far-reach
// decision rewrites the object (makeIndirect) and lays it out again.
Error buildGraph(Module &m)
{
    const ObjectFile &o = m.obj;
    m.symbolCount = static_cast<uint32_t>(o.symbols.size());
    m.blocks.assign(o.sections.size(), Block{});
    size_t n = 0;
    for (const auto &[rela, list] : o.relocs)
        if (o.sections[o.relocTarget(rela)].flags & SHF_ALLOC)
            n += list.size();
    m.edges.clear();
    m.edges.reserve(n);
    for (const auto &[rela, list] : o.relocs) {
        const uint32_t block = o.relocTarget(rela);
        if (!(o.sections[block].flags & SHF_ALLOC))
            continue; // debug information is not loaded
        for (const Reloc &r : list)
            m.edges.push_back(Edge{block, rela, r.offset, r.addend, r.type, m.target->relExpr(r.type), r.symbol,
                                   r.symbol});
    }
    return Error::success();
}

} // namespace percpu::loader
