//===- loader_testing.cpp - the relocation engine at given addresses -----===//
// Test support, not part of libpercpu-loader: the differential test runs the
// loader's validate and relocation passes over a graph placed at addresses
// it chooses, without mapping or loading anything.
#include "Internal.h" // src/loader: the passes this engine runs
#include "loader_testing.h"

namespace percpu::loader {

namespace testing {

Expected<std::map<uint32_t, std::vector<uint8_t>>> relocateAt(const ObjectFile &obj,
                                                             const std::vector<uint64_t> &addresses)
{
    Module m;
    m.name = obj.path;
    m.obj = obj;
    if (Error e = validate(m))
        return e;
    std::map<uint32_t, std::vector<uint8_t>> bytes;
    m.secAddr.assign(obj.sections.size(), 0);
    m.secData.assign(obj.sections.size(), nullptr);
    for (const Section &s : obj.sections) {
        if (!s.index || !(s.flags & SHF_ALLOC) || s.index >= addresses.size() || !addresses[s.index])
            continue;
        m.secAddr[s.index] = addresses[s.index];
        auto &b = bytes[s.index];
        b = s.type == SHT_NOBITS ? std::vector<uint8_t>(s.size, 0) : s.data;
        m.secData[s.index] = b.data();
    }
    // The tables get addresses below the sections but no memory (their
    // places differ from any linker's: callers leave GOT-relative fields out
    // of comparisons), each where the loader's layout would put its kind.
    const TablePlan plan = planTables(m);
    uint64_t lowest = UINT64_MAX;
    for (uint64_t a : addresses)
        if (a)
            lowest = std::min(lowest, a);
    uint64_t tableBytes = 0;
    for (size_t t = 0; t < kTableCount; ++t)
        tableBytes += alignTo(kTables[t].bytes(m, plan), 16);
    uint64_t at = lowest == UINT64_MAX ? 0x1000 : (lowest - tableBytes - 4096) & ~uint64_t{15};
    for (size_t t = 0; t < kTableCount; ++t) {
        kTables[t].place(m, plan, at);
        at += alignTo(kTables[t].bytes(m, plan), 16);
    }
    m.farStubsLeft = 0; // no memory to move instructions into
    // The loader's own passes, with the given addresses standing for
    // layout and placement, and undefined symbols at 0.
    m.policy.undefinedAsZero = true;
    if (Error e = resolveSymbols(m))
        return e;
    if (Error e = reachFarData(m))
        return e;
    if (Error e = relocate(m))
        return e;
    return bytes;
}

} // namespace testing

} // namespace percpu::loader
