//===- passes/Tables.cpp - the module's tables, each planned, placed and written ===//
//
// JITLink's table managers (GOTTableManager, PLTTableManager) over this
// loader's graph, the object's sections with its relocations as edges:
//
//   plan   one scan of the edges records what every table needs (planTables)
//   place  layout gives each table its place in its region of the mapping
//          (kTables: the region, the alignment, the bytes), and each table
//          its entries' addresses
//   write  once symbols are resolved, each table fills its entries
//
//   table         region  entries                            read by
//   PLT stubs     r-x     one per called external symbol and  PLT edges out of a
//                         per indirect function              branch's reach
//   far stubs     r-x     moved instructions (FarData.cpp)    the far-data pass
//   GOT           r--     symbol; symbol + k for a lea made   GOT edges (G); the
//                         a load; an indirect function's      far-data pass; PLT
//                         jump slot (filled by protect)       stubs
//   TLS entries   r--     GD/LD pairs, descriptors, IE words  TLS edges (ThreadLocal.cpp)
//
// The relocation engine reads the entries by symbol (Placement's gotEntry,
// pltStub, jumpSlot, gotOffsetEntry, tlsEntry).
//===----------------------------------------------------------------------===//
#include "../Internal.h"

namespace percpu::loader {

TablePlan planTables(Module &m)
{
    TablePlan p;
    // By symbol index (a set per relocation was the pass's main cost).
    std::vector<bool> got(m.obj.symbols.size()), stub(m.obj.symbols.size()), jump(m.obj.symbols.size());
    std::set<std::pair<uint32_t, int64_t>> offsets;
    for (const auto &[rela, list] : m.obj.relocs) {
        const Section &t = m.obj.sections[m.obj.relocTarget(rela)];
        if (!(t.flags & SHF_ALLOC))
            continue;
        for (const Reloc &r : list) {
            RelExpr e = m.target->relExpr(r.type);
            if (needsGot(e))
                got[r.symbol] = true;
            bool undef = r.symbol && m.obj.symbols[r.symbol].shndx == SHN_UNDEF;
            if ((e == RelExpr::PLT || e == RelExpr::PltGotRelative) && undef) {
                stub[r.symbol] = true;
                got[r.symbol] = true;
            }
            // A PC-relative address of an external symbol may not reach
            // (libstdc++'s typeinfo from -fPIE code): keep a GOT entry ready.
            if (e == RelExpr::PCRelative && undef && (t.flags & SHF_EXECINSTR)) {
                ++p.farStubs; // in case it is a memory access out of reach
                if (m.target->computedOffset(r) == 0)
                    got[r.symbol] = true;
                else
                    offsets.insert({r.symbol, m.target->computedOffset(r)});
            }
        }
    }
    // Every indirect function gets a stub, a GOT entry (its address for
    // relocations, pcpu_dlsym and exports alike) and the jump slot its stub
    // goes through.
    for (uint32_t i = 1; i < m.obj.symbols.size(); ++i)
        if (m.obj.symbols[i].type == STT_GNU_IFUNC && m.obj.symbols[i].isDefinedInSection())
            stub[i] = got[i] = jump[i] = true;
    for (uint32_t i = 0; i < got.size(); ++i) {
        if (got[i])
            p.gotSyms.push_back(i);
        if (stub[i])
            p.stubSyms.push_back(i);
        if (jump[i])
            p.jumpSyms.push_back(i);
    }
    p.offsetSlots.assign(offsets.begin(), offsets.end());
    if (!m.target->farStubSize)
        p.farStubs = 0;
    p.tlsBytes = planTlsEntries(m);
    return p;
}

namespace {

void placePlt(Module &m, const TablePlan &p, uint64_t at)
{
    m.pltStub.assign(m.obj.symbols.size(), 0);
    for (uint32_t sym : p.stubSyms) {
        m.pltStub[sym] = at;
        at += m.target->pltStubSize;
    }
}

void placeFarStubs(Module &m, const TablePlan &p, uint64_t at)
{
    m.farStubs = p.farStubs ? at : 0;
    m.farStubsLeft = p.farStubs;
    m.farDataRefs = p.farStubs;
}

void placeGot(Module &m, const TablePlan &p, uint64_t at)
{
    m.gotBase = at;
    m.gotEntry.assign(m.obj.symbols.size(), 0);
    m.jumpSlot.assign(m.obj.symbols.size(), 0);
    const unsigned size = m.target->gotEntrySize;
    for (uint32_t sym : p.gotSyms) {
        m.gotEntry[sym] = at;
        at += size;
    }
    for (const auto &key : p.offsetSlots) {
        m.gotOffsetEntry[key] = at;
        at += size;
    }
    for (uint32_t sym : p.jumpSyms) {
        m.jumpSlot[sym] = at;
        at += size;
    }
}

Error writePlt(Module &m)
{
    for (uint32_t sym = 0; sym < m.pltStub.size(); ++sym)
        if (m.pltStub[sym])
            m.target->writePltStub(reinterpret_cast<uint8_t *>(m.pltStub[sym]), m.pltStub[sym],
                                   m.jumpSlot[sym] ? m.jumpSlot[sym] : m.gotEntry[sym]);
    return Error::success();
}

Error writeNothing(Module &) { return Error::success(); } // far stubs: FarData.cpp

// Jump slots stay 0 until protect runs their resolvers.
Error writeGot(Module &m)
{
    for (uint32_t sym = 0; sym < m.gotEntry.size(); ++sym)
        if (m.gotEntry[sym])
            support::endian::write64le(reinterpret_cast<void *>(m.gotEntry[sym]), m.symAddr[sym]);
    for (const auto &[key, entry] : m.gotOffsetEntry)
        support::endian::write64le(reinterpret_cast<void *>(entry), m.symAddr[key.first] + key.second);
    return Error::success();
}

void placeTls(Module &m, const TablePlan &p, uint64_t at)
{
    if (p.tlsBytes)
        placeTlsEntries(m, at);
}

} // namespace

const Table kTables[] = {
    {"PLT stubs", PROT_READ | PROT_EXEC, kStubAlign,
     [](const Module &m, const TablePlan &p) { return uint64_t{p.stubSyms.size()} * m.target->pltStubSize; },
     placePlt, writePlt},
    {"far stubs", PROT_READ | PROT_EXEC, kStubAlign,
     [](const Module &m, const TablePlan &p) { return uint64_t{p.farStubs} * m.target->farStubSize; },
     placeFarStubs, writeNothing},
    {"GOT", PROT_READ, 8,
     [](const Module &m, const TablePlan &p) {
         return uint64_t{p.gotSyms.size() + p.offsetSlots.size() + p.jumpSyms.size()} * m.target->gotEntrySize;
     },
     placeGot, writeGot},
    {"TLS entries", PROT_READ, 16, [](const Module &, const TablePlan &p) { return p.tlsBytes; }, placeTls,
     writeTlsEntries},
};
const size_t kTableCount = std::size(kTables);

Error writeTables(Module &m)
{
    for (const Table &t : kTables)
        if (Error e = t.write(m))
            return e;
    return Error::success();
}

} // namespace percpu::loader
