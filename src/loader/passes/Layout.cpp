//===- passes/Layout.cpp - lay out: sections by permission, then the tables; map ===//
#include "../Internal.h"

namespace percpu::loader {

Error layOutAndMap(Module &m)
{
    const ObjectFile &o = m.obj;
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
    // (+bss, COMMON); thread-local sections become the TLS template.  The
    // tables (Tables.cpp) go at the end of their regions.
    if (Error e = layOutTls(m))
        return e;
    std::vector<uint64_t> tableOff(kTableCount, 0);
    std::vector<uint64_t> offsets(o.sections.size(), 0);
    uint64_t at = 0;
    uint64_t commonOff = 0, dsoOff = 0;
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
        for (size_t t = 0; t < kTableCount; ++t)
            if (kTables[t].prot == prot) {
                const uint64_t bytes = tableBytes(m, kTables[t]);
                if (bytes)
                    at = alignTo(at, kTables[t].align);
                tableOff[t] = at;
                at += bytes;
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
        Block &b = m.blocks[s.index];
        b.addr = m.base + offsets[s.index];
        b.data = reinterpret_cast<uint8_t *>(b.addr);
        if (s.type != SHT_NOBITS && !s.data.empty())
            std::memcpy(b.data, s.data.data(), s.data.size());
        if (s.name == ".eh_frame" && s.size)
            m.ehFrame = b.addr;
    }
    for (size_t t = 0; t < kTableCount; ++t)
        placeTable(m, kTables[t], m.base + tableOff[t]);
    for (auto &[sym, off] : commons)
        m.commonAddr[sym] = m.base + commonOff + off;
    m.dsoHandle = m.base + dsoOff;
    return Error::success();
}

} // namespace percpu::loader
