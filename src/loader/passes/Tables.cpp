//===- passes/Tables.cpp - the link graph built, its tables as managers -----===//
//
// JITLink's table managers (GOTTableManager, PLTTableManager) over this
// loader's graph (Graph.h):
//
//   plan   as buildGraph adds each edge, every manager visits it
//          (visitEdge); a manager adds the entries the edge needs
//          (entryFor) and, where the entry is all the edge reads, points
//          the edge at it (a GOT-relative load becomes PC-relative to its
//          GOT word); calls and external data wait for addresses
//   place  layout gives each table its place in its region of the mapping
//          (kTables: the region, the alignment), and its entries their
//          addresses (placeTable)
//   write  once symbols are resolved, each table fills its entries
//   reach  rewriteCalls points calls out of the branch's reach at their
//          stubs; FarData.cpp points external data out of 32-bit reach at
//          a GOT word, or moves the instruction into a far stub
//
//   table         region  entries                            planned for
//   PLT stubs     r-x     one per called external symbol and  PLT edges to undefined
//                         per indirect function               symbols; indirect functions
//   far stubs     r-x     room for a moved instruction        PC-relative edges from code
//                                                             to undefined symbols
//   GOT           r--     symbol + k; an indirect function's  GOT edges; the same PC-relative
//                         jump slot (filled by protect)       edges (k: what they compute);
//                                                             PLT stubs
//   TLS entries   r--     GD/LD pairs, descriptors, IE words  TLS edges (ThreadLocal.cpp)
//===----------------------------------------------------------------------===//
#include "../Internal.h"

namespace percpu::loader {

TargetId entryFor(Module &m, EntryKind kind, uint32_t symbol, int64_t k)
{
    // The common lookups by symbol (a map per relocation was the planning's
    // main cost), the rest by what the entry holds.
    std::vector<uint32_t> *by = kind == EntryKind::GotWord && k == 0 ? &m.gotOf
                                : kind == EntryKind::PltStub         ? &m.stubOf
                                : kind == EntryKind::JumpSlot        ? &m.slotOf
                                                                     : nullptr;
    if (by) {
        uint32_t &i = (*by)[symbol]; // sized by startTables
        if (!i) {
            m.entries.push_back(Entry{kind, symbol, k});
            i = static_cast<uint32_t>(m.entries.size());
        }
        return m.symbolCount + i - 1;
    }
    if (kind == EntryKind::FarStub) { // one each: a stub holds one instruction
        m.entries.push_back(Entry{kind, symbol, k});
        return m.symbolCount + static_cast<uint32_t>(m.entries.size() - 1);
    }
    auto [it, added] = m.entryOf.try_emplace({kind, symbol, k}, static_cast<uint32_t>(m.entries.size()));
    if (added)
        m.entries.push_back(Entry{kind, symbol, k});
    return m.symbolCount + it->second;
}

std::optional<TargetId> findEntry(const Module &m, EntryKind kind, uint32_t symbol, int64_t k)
{
    if (kind == EntryKind::GotWord && k == 0) {
        if (symbol < m.gotOf.size() && m.gotOf[symbol])
            return m.symbolCount + m.gotOf[symbol] - 1;
        return std::nullopt;
    }
    if (auto it = m.entryOf.find({kind, symbol, k}); it != m.entryOf.end())
        return m.symbolCount + it->second;
    return std::nullopt;
}

const Entry *entryOfSymbol(const Module &m, const std::vector<uint32_t> &by, uint32_t symbol)
{
    return symbol < by.size() && by[symbol] ? &m.entries[by[symbol] - 1] : nullptr;
}

namespace {

bool undefinedSymbol(const Module &m, uint32_t sym) { return sym && m.obj.symbols[sym].shndx == SHN_UNDEF; }

// The symbol's GOT word (symbol + 0): entryFor's common case, inline.
TargetId gotWord(Module &m, uint32_t symbol)
{
    uint32_t &i = m.gotOf[symbol];
    if (!i) {
        m.entries.push_back(Entry{EntryKind::GotWord, symbol, 0});
        i = static_cast<uint32_t>(m.entries.size());
    }
    return m.symbolCount + i - 1;
}

Error writePlt(Module &m)
{
    for (const Entry &s : m.entries)
        if (s.kind == EntryKind::PltStub) {
            const Entry *slot = entryOfSymbol(m, m.slotOf, s.symbol);
            const Entry *word = slot ? slot : entryOfSymbol(m, m.gotOf, s.symbol);
            m.target->writePltStub(reinterpret_cast<uint8_t *>(s.addr), s.addr, word->addr);
        }
    return Error::success();
}

Error writeNothing(Module &) { return Error::success(); } // far stubs: FarData.cpp

// Jump slots stay 0 until protect runs their resolvers.
Error writeGot(Module &m)
{
    for (const Entry &w : m.entries)
        if (w.kind == EntryKind::GotWord)
            support::endian::write64le(reinterpret_cast<void *>(w.addr), m.symAddr[w.symbol] + w.k);
    return Error::success();
}

} // namespace

const Table kTables[] = {
    {"PLT stubs", PROT_READ | PROT_EXEC, kStubAlign, [](EntryKind k) { return k == EntryKind::PltStub; },
     writePlt},
    {"far stubs", PROT_READ | PROT_EXEC, kStubAlign, [](EntryKind k) { return k == EntryKind::FarStub; },
     writeNothing},
    {"GOT", PROT_READ, 8, [](EntryKind k) { return k == EntryKind::GotWord || k == EntryKind::JumpSlot; },
     writeGot},
    {"TLS entries", PROT_READ, 16,
     [](EntryKind k) {
         return k == EntryKind::TlsGdPair || k == EntryKind::TlsLdPair || k == EntryKind::TlsDescriptor ||
                k == EntryKind::TlsIe;
     },
     writeTlsEntries},
};
const size_t kTableCount = std::size(kTables);

namespace {

void startTables(Module &m)
{
    m.entries.clear();
    m.gotOf.assign(m.symbolCount, 0);
    m.stubOf.assign(m.symbolCount, 0);
    m.slotOf.assign(m.symbolCount, 0);
    m.entryOf.clear();
    m.calls.clear();
    m.farRefs.clear();
    // Every indirect function gets a stub, a GOT word (its address for
    // relocations, pcpu_dlsym and exports alike) and the jump slot its stub
    // goes through.
    for (uint32_t i = 1; i < m.obj.symbols.size(); ++i)
        if (m.obj.symbols[i].type == STT_GNU_IFUNC && m.obj.symbols[i].isDefinedInSection()) {
            entryFor(m, EntryKind::PltStub, i);
            gotWord(m, i);
            entryFor(m, EntryKind::JumpSlot, i);
        }
}

// Each manager's part of one edge (one switch: this runs once per
// relocation of the module).
void visitEdge(Module &m, Edge &e, uint32_t index)
{
    switch (e.kind) {
    case RelExpr::PLT:
    case RelExpr::PltGotRelative:
        // PLT: a call to an undefined symbol gets a stub, used when the
        // symbol is out of the branch's reach (rewriteCalls), which jumps
        // through the symbol's GOT word.
        m.calls.push_back(index);
        if (undefinedSymbol(m, e.symbol)) {
            entryFor(m, EntryKind::PltStub, e.symbol);
            gotWord(m, e.symbol);
        }
        return;
    case RelExpr::TLS:
        visitTls(m, e); // ThreadLocal.cpp
        return;
    case RelExpr::PCRelative:
        // A PC-relative address of an external symbol from code may not
        // reach (libstdc++'s typeinfo from -fPIE code): a GOT word holding
        // what it computes, and room to move the instruction, are kept
        // ready for the far-data pass.
        if (undefinedSymbol(m, e.symbol) && (m.obj.sections[e.block].flags & SHF_EXECINSTR)) {
            m.farRefs.push_back(index);
            entryFor(m, EntryKind::GotWord, e.symbol,
                     m.target->computedOffset(Reloc{e.offset, e.type, e.symbol, e.addend}));
            if (m.target->farStubSize)
                entryFor(m, EntryKind::FarStub, e.symbol);
        }
        return;
    default:
        // GOT: an edge that reads the symbol's GOT word now computes
        // against the word.
        if (needsGot(e.kind)) {
            e.target = gotWord(m, e.symbol);
            e.kind = throughEntry(e.kind);
        }
        return;
    }
}

} // namespace

// One block per section (placed by layout and place), one edge per
// relocation of an allocated section, its kind the Target's and its target
// the symbol it names; the tables' managers visit each edge as it is added
// (the one scan of the relocations: a pass of its own over the edges
// cost as much as planning).  Run at the start of every layout: the far-reach decision
// rewrites the object (makeIndirect) and lays it out again.
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
    m.symbolUse.assign(m.symbolCount, 0);
    startTables(m);
    for (const auto &[rela, list] : o.relocs) {
        const uint32_t block = o.relocTarget(rela);
        if (!(o.sections[block].flags & SHF_ALLOC))
            continue; // debug information is not loaded
        for (const Reloc &r : list) {
            m.edges.push_back(Edge{block, rela, r.offset, r.addend, r.type, m.target->relExpr(r.type), r.symbol,
                                   r.symbol});
            Edge &e = m.edges.back();
            m.symbolUse[e.symbol] |= e.kind == RelExpr::TLS ? Module::kReferencedThreadLocal : Module::kReferenced;
            visitEdge(m, e, static_cast<uint32_t>(m.edges.size() - 1));
        }
    }
    return Error::success();
}

uint64_t entrySize(const Module &m, EntryKind k)
{
    switch (k) {
    case EntryKind::GotWord:
    case EntryKind::JumpSlot: return m.target->gotEntrySize;
    case EntryKind::PltStub: return m.target->pltStubSize;
    case EntryKind::FarStub: return m.target->farStubSize;
    case EntryKind::TlsGdPair:
    case EntryKind::TlsLdPair: return 16; // {module, offset}
    case EntryKind::TlsDescriptor: return 32; // {function, argument, module, offset}
    case EntryKind::TlsIe: return 8;          // the thread-pointer offset
    }
    return 0;
}

uint64_t tableBytes(const Module &m, const Table &t)
{
    uint64_t bytes = 0;
    for (const Entry &e : m.entries)
        if (t.holds(e.kind))
            bytes += entrySize(m, e.kind);
    return bytes;
}

void placeTable(Module &m, const Table &t, uint64_t at)
{
    if (t.holds(EntryKind::GotWord))
        m.gotBase = at; // _GLOBAL_OFFSET_TABLE_, even with no entry
    for (Entry &e : m.entries)
        if (t.holds(e.kind)) {
            e.addr = at;
            at += entrySize(m, e.kind);
        }
}

Error writeTables(Module &m)
{
    for (const Table &t : kTables)
        if (Error e = t.write(m))
            return e;
    return Error::success();
}

// A call reaches its symbol directly when the branch can; otherwise its
// stub.  Either way the edge becomes an ordinary PC- or GOT-relative one.
Error rewriteCalls(Module &m)
{
    const int64_t reach = m.target->branchReach;
    for (uint32_t index : m.calls) {
        Edge &e = m.edges[index];
        if (const Entry *stub = entryOfSymbol(m, m.stubOf, e.target)) {
            const uint64_t place = m.blocks[e.block].addr + e.offset;
            const auto direct = static_cast<int64_t>(m.addressOf(e.target) + static_cast<uint64_t>(e.addend) - place);
            if (direct < -reach || direct >= reach)
                e.target = m.symbolCount + static_cast<uint32_t>(stub - m.entries.data());
        }
        e.kind = e.kind == RelExpr::PLT ? RelExpr::PCRelative : RelExpr::GotRelative;
    }
    return Error::success();
}

} // namespace percpu::loader
