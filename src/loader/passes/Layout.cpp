//===- passes/Layout.cpp - lay out: sections by permission, GOT, PLT, far stubs; map -- ===//
#include "../Internal.h"

namespace percpu::loader {

// The GOT entries and PLT stubs a module needs. `offsetSlots` are entries for
// symbol + k (k != 0), which a PC-relative `lea sym+k(%rip)` needs when it is
// turned into a load from the GOT.
void planGotAndStubs(Module &m, std::vector<uint32_t> &gotSyms, std::vector<uint32_t> &stubSyms,
                     std::vector<std::pair<uint32_t, int64_t>> &offsetSlots, unsigned &farStubs)
{
    farStubs = 0;
    // By symbol index (a set per relocation was the pass's main cost).
    std::vector<bool> got(m.obj.symbols.size()), stub(m.obj.symbols.size());
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
                ++farStubs; // in case it is a memory access out of reach
                if (m.target->computedOffset(r) == 0)
                    got[r.symbol] = true;
                else
                    offsets.insert({r.symbol, m.target->computedOffset(r)});
            }
        }
    }
    // Every indirect function gets a stub and a GOT entry: its address for
    // relocations, pcpu_dlsym and exports alike.
    for (uint32_t i = 1; i < m.obj.symbols.size(); ++i)
        if (m.obj.symbols[i].type == STT_GNU_IFUNC && m.obj.symbols[i].isDefinedInSection()) {
            stub[i] = true;
            got[i] = true;
            offsets.insert({i, kJumpSlot});
        }
    gotSyms.clear();
    stubSyms.clear();
    for (uint32_t i = 0; i < got.size(); ++i) {
        if (got[i])
            gotSyms.push_back(i);
        if (stub[i])
            stubSyms.push_back(i);
    }
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

    // Regions in order: text (+stubs), read-only (+GOT, TLS entries), data
    // (+bss, COMMON); thread-local sections become the TLS template.
    m.secAddr.assign(o.sections.size(), 0);
    m.secData.assign(o.sections.size(), nullptr);
    if (Error e = layOutTls(m))
        return e;
    const uint64_t tlsEntryBytes = planTlsEntries(m);
    uint64_t tlsEntryOff = 0;
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
            at = alignTo(at, kStubAlign);
            stubOff = at;
            at += stubSyms.size() * stubSize;
        }
        if (prot == (PROT_READ | PROT_EXEC) && farStubs) {
            at = alignTo(at, kStubAlign);
            farStubOff = at;
            at += uint64_t{farStubs} * m.target->farStubSize;
        }
        if (prot == PROT_READ && !(gotSyms.empty() && offsetSlots.empty())) {
            at = alignTo(at, m.target->gotEntrySize);
            gotOff = at;
            at += (gotSyms.size() + offsetSlots.size()) * m.target->gotEntrySize;
        }
        if (prot == PROT_READ && tlsEntryBytes) {
            at = alignTo(at, 16);
            tlsEntryOff = at;
            at += tlsEntryBytes;
        }
        if (prot == (PROT_READ | PROT_WRITE)) {
            at = alignTo(at, commonAlign);
            commonOff = at;
            at += commonSize;
            at = alignTo(at, alignof(uint64_t));
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
        m.secData[s.index] = reinterpret_cast<uint8_t *>(m.secAddr[s.index]);
        if (s.type != SHT_NOBITS && !s.data.empty())
            std::memcpy(reinterpret_cast<void *>(m.secAddr[s.index]), s.data.data(), s.data.size());
        if (s.name == ".eh_frame" && s.size)
            m.ehFrame = m.secAddr[s.index];
    }
    uint64_t stubAt = m.base + stubOff, gotAt = m.base + gotOff;
    m.farStubs = farStubs ? m.base + farStubOff : 0;
    m.farStubsLeft = farStubs;
    m.farDataRefs = farStubs;
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
    if (tlsEntryBytes)
        placeTlsEntries(m, m.base + tlsEntryOff);
    for (auto &[sym, off] : commons)
        m.commonAddr[sym] = m.base + commonOff + off;
    m.dsoHandle = m.base + dsoOff;
    return Error::success();
}

} // namespace percpu::loader
