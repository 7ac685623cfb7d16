// The loader's graph passes (src/loader/Graph.h, passes/Tables.cpp,
// FarData.cpp, Relocate.cpp) on a small hand-built graph: sections, symbols
// and relocations written here, no object file, no mapping.  One visit of
// the edges plans every table and points the edges that read an entry at
// it; placing gives each entry its own aligned place; after resolve, calls
// out of reach go to their stubs and external data out of reach to a GOT
// word, each an edge rewrite; the engine then writes every field against
// its edge's target.
#include "Internal.h" // src/loader

#include <gtest/gtest.h>

using namespace percpu::loader;

namespace {

enum : uint32_t { kText = 1, kTbss = 2, kRela = 3 };
enum : uint32_t { kExt = 1, kData = 2, kIfunc = 3, kTv = 4, kFar = 5 };
constexpr uint64_t kLea = 48; // lea far(%rip), %rax at .text+48

ObjectFile graph()
{
    ObjectFile o;
    o.path = "graph.o";
    o.elfType = ET_REL;
    o.machine = EM_X86_64;
    o.target = targetFor(EM_X86_64);
    o.sections.resize(4);
    for (uint32_t i = 0; i < 4; ++i)
        o.sections[i].index = i;
    Section &text = o.sections[kText];
    text.name = ".text";
    text.type = SHT_PROGBITS;
    text.flags = SHF_ALLOC | SHF_EXECINSTR;
    text.size = 64;
    text.addralign = 16;
    text.data.assign(64, 0x90);
    const uint8_t lea[] = {0x48, 0x8d, 0x05, 0, 0, 0, 0};
    std::copy(std::begin(lea), std::end(lea), text.data.begin() + kLea);
    Section &tbss = o.sections[kTbss];
    tbss.name = ".tbss";
    tbss.type = SHT_NOBITS;
    tbss.flags = SHF_ALLOC | SHF_WRITE | SHF_TLS;
    tbss.size = 16;
    tbss.addralign = 8;
    Section &rela = o.sections[kRela];
    rela.name = ".rela.text";
    rela.type = SHT_RELA;
    rela.info = kText;
    auto symbol = [](const char *name, uint8_t type, uint32_t shndx, uint64_t value) {
        Symbol s;
        s.name = name;
        s.type = type;
        s.binding = STB_GLOBAL;
        s.shndx = shndx;
        s.value = value;
        return s;
    };
    o.symbols = {Symbol{},
                 symbol("ext", STT_FUNC, SHN_UNDEF, 0),
                 symbol("data", STT_OBJECT, SHN_UNDEF, 0),
                 symbol("pick", STT_GNU_IFUNC, kText, 0),
                 symbol("tv", STT_TLS, kTbss, 8),
                 symbol("far", STT_OBJECT, SHN_UNDEF, 0)};
    o.relocs[kRela] = {
        {0, R_X86_64_PLT32, kExt, -4},             // two calls, one stub
        {8, R_X86_64_PLT32, kExt, -4},
        {16, R_X86_64_REX_GOTPCRELX, kData, -4},   // a GOT word
        {24, R_X86_64_TLSGD, kTv, -4},             // a GD pair
        {32, R_X86_64_TLSLD, kTv, -4},             // the module's LD pair
        {40, R_X86_64_GOTPC32_TLSDESC, kTv, -4},   // a descriptor
        {44, R_X86_64_TLSDESC_CALL, kTv, 0},       // nothing
        {kLea + 3, R_X86_64_PC32, kFar, -4},       // external data: a word and a stub kept ready
    };
    return o;
}

Module planned()
{
    Module m;
    m.obj = graph();
    m.target = m.obj.target;
    EXPECT_FALSE(static_cast<bool>(buildGraph(m)));
    return m;
}

const Edge &edgeAt(const Module &m, uint64_t offset)
{
    for (const Edge &e : m.edges)
        if (e.offset == offset)
            return e;
    ADD_FAILURE() << "no edge at " << offset;
    return m.edges.front();
}

std::optional<TargetId> entry(const Module &m, EntryKind kind, uint32_t symbol, int64_t k = 0)
{
    if (kind == EntryKind::PltStub || kind == EntryKind::JumpSlot) {
        const Entry *e = entryOfSymbol(m, kind == EntryKind::PltStub ? m.stubOf : m.slotOf, symbol);
        if (!e)
            return std::nullopt;
        return m.symbolCount + static_cast<TargetId>(e - m.entries.data());
    }
    return findEntry(m, kind, symbol, k);
}

size_t count(const Module &m, EntryKind kind)
{
    return static_cast<size_t>(
        std::count_if(m.entries.begin(), m.entries.end(), [&](const Entry &e) { return e.kind == kind; }));
}

TEST(Tables, OneVisitPlansEveryTableAndPointsEdgesAtTheirEntries)
{
    const Module m = planned();
    EXPECT_EQ(count(m, EntryKind::PltStub), 2u); // ext, pick
    EXPECT_TRUE(entry(m, EntryKind::PltStub, kExt) && entry(m, EntryKind::PltStub, kIfunc));
    EXPECT_EQ(count(m, EntryKind::JumpSlot), 1u);
    EXPECT_TRUE(entry(m, EntryKind::JumpSlot, kIfunc));
    // ext (its stub's), data, pick, and far + 0 for the far-data pass.
    EXPECT_EQ(count(m, EntryKind::GotWord), 4u);
    for (uint32_t s : {kExt, kData, kIfunc, kFar})
        EXPECT_TRUE(entry(m, EntryKind::GotWord, s)) << s;
    EXPECT_EQ(count(m, EntryKind::FarStub), 1u);
    EXPECT_TRUE(entry(m, EntryKind::TlsGdPair, kTv));
    EXPECT_TRUE(entry(m, EntryKind::TlsDescriptor, kTv));
    EXPECT_EQ(count(m, EntryKind::TlsLdPair), 1u);
    EXPECT_EQ(count(m, EntryKind::TlsIe), 0u);

    // Edges that read an entry compute PC-relative to it now.
    const Edge &got = edgeAt(m, 16);
    EXPECT_EQ(got.kind, RelExpr::PCRelative);
    EXPECT_EQ(got.target, *entry(m, EntryKind::GotWord, kData));
    EXPECT_EQ(got.symbol, kData) << "the symbol the object names stays, for diagnostics";
    EXPECT_EQ(edgeAt(m, 24).target, *entry(m, EntryKind::TlsGdPair, kTv));
    EXPECT_EQ(edgeAt(m, 24).kind, RelExpr::PCRelative);
    EXPECT_EQ(edgeAt(m, 32).kind, RelExpr::PCRelative);
    EXPECT_EQ(m.entries[edgeAt(m, 32).target - m.symbolCount].kind, EntryKind::TlsLdPair);
    EXPECT_EQ(edgeAt(m, 40).target, *entry(m, EntryKind::TlsDescriptor, kTv));
    EXPECT_EQ(edgeAt(m, 44).kind, RelExpr::None);
    // Calls and external data wait for addresses.
    EXPECT_EQ(edgeAt(m, 0).kind, RelExpr::PLT);
    EXPECT_EQ(edgeAt(m, 0).target, kExt);
    EXPECT_EQ(edgeAt(m, kLea + 3).target, kFar);
}

// Tables placed from `at` on, as layout does; the [begin, end) of each.
std::vector<std::pair<uint64_t, uint64_t>> place(Module &m, uint64_t at)
{
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (size_t t = 0; t < kTableCount; ++t) {
        at = llvm::alignTo(at, kTables[t].align);
        const uint64_t bytes = tableBytes(m, kTables[t]);
        placeTable(m, kTables[t], at);
        ranges.emplace_back(at, at + bytes);
        at += bytes;
    }
    return ranges;
}

TEST(Tables, PlacedTablesGiveEveryEntryItsOwnAlignedPlace)
{
    Module m = planned();
    const auto ranges = place(m, 0x10000);
    std::set<uint64_t> addrs;
    for (const Entry &e : m.entries) {
        size_t table = kTableCount;
        for (size_t t = 0; t < kTableCount; ++t)
            if (kTables[t].holds(e.kind))
                table = t;
        ASSERT_LT(table, kTableCount);
        const uint64_t size = entrySize(m, e.kind);
        EXPECT_GE(e.addr, ranges[table].first);
        EXPECT_LE(e.addr + size, ranges[table].second) << kTables[table].name;
        EXPECT_EQ(e.addr % 8, 0u);
        EXPECT_TRUE(addrs.insert(e.addr).second) << "two entries at " << e.addr;
    }
    EXPECT_EQ(m.gotBase, ranges[2].first);
    ASSERT_STREQ(kTables[2].name, "GOT");
}

// A graph laid out by hand: .text at 0x10000 in a buffer, the tables below,
// symbols where the test says.
struct Laid {
    Module m = planned();
    std::vector<uint8_t> text = m.obj.sections[kText].data;
    Laid(uint64_t ext, uint64_t data, uint64_t far)
    {
        m.blocks[kText] = Block{0x10000, text.data()};
        place(m, 0x8000);
        m.symAddr.assign(m.obj.symbols.size(), 0);
        m.symAddr[kExt] = ext;
        m.symAddr[kData] = data;
        m.symAddr[kIfunc] = entry(m, EntryKind::PltStub, kIfunc) ? m.addressOf(*entry(m, EntryKind::PltStub, kIfunc)) : 0;
        m.symAddr[kTv] = 8;
        m.symAddr[kFar] = far;
    }
    int32_t field(uint64_t offset) const
    {
        return static_cast<int32_t>(support::endian::read32le(text.data() + offset));
    }
    int64_t rel(uint64_t to, int64_t addend, uint64_t offset) const
    {
        return static_cast<int64_t>(to + static_cast<uint64_t>(addend) - (0x10000 + offset));
    }
};

TEST(Graph, ACallOutOfReachGoesToItsStubAndOneInReachDirect)
{
    for (bool out : {false, true}) {
        Laid l(out ? 0x7f0000000000 : 0x20000, 0x30000, 0x40000);
        ASSERT_FALSE(static_cast<bool>(rewriteCalls(l.m)));
        const Edge &call = edgeAt(l.m, 0);
        EXPECT_EQ(call.kind, RelExpr::PCRelative);
        EXPECT_EQ(call.target, out ? *entry(l.m, EntryKind::PltStub, kExt) : TargetId{kExt});
        ASSERT_FALSE(static_cast<bool>(relocate(l.m)));
        const uint64_t to = out ? l.m.addressOf(*entry(l.m, EntryKind::PltStub, kExt)) : 0x20000;
        EXPECT_EQ(l.field(0), l.rel(to, -4, 0));
        EXPECT_EQ(l.field(8), l.rel(to, -4, 8));
    }
}

TEST(Graph, EveryFieldIsComputedAgainstItsEdgesTarget)
{
    Laid l(0x20000, 0x30000, 0x40000);
    ASSERT_FALSE(static_cast<bool>(rewriteCalls(l.m)));
    ASSERT_FALSE(static_cast<bool>(reachFarData(l.m)));
    ASSERT_FALSE(static_cast<bool>(relocate(l.m)));
    auto at = [&](EntryKind k, uint32_t s) { return l.m.addressOf(*entry(l.m, k, s)); };
    EXPECT_EQ(l.field(16), l.rel(at(EntryKind::GotWord, kData), -4, 16)); // G + A - P
    EXPECT_EQ(l.field(24), l.rel(at(EntryKind::TlsGdPair, kTv), -4, 24));
    EXPECT_EQ(l.field(40), l.rel(at(EntryKind::TlsDescriptor, kTv), -4, 40));
    uint64_t ld = 0;
    for (const Entry &e : l.m.entries)
        if (e.kind == EntryKind::TlsLdPair)
            ld = e.addr;
    EXPECT_EQ(l.field(32), l.rel(ld, -4, 32));
    EXPECT_EQ(l.field(44), static_cast<int32_t>(0x90909090)) << "the descriptor call's marker writes nothing";
    EXPECT_EQ(l.field(kLea + 3), l.rel(0x40000, -4, kLea + 3)); // in reach: S + A - P
    EXPECT_EQ(l.text[kLea + 1], 0x8d) << "still a lea";
}

TEST(Graph, ExternalDataOutOfReachIsLoadedFromItsGotWord)
{
    Laid l(0x20000, 0x30000, 0x7f0000000000);
    ASSERT_FALSE(static_cast<bool>(rewriteCalls(l.m)));
    ASSERT_FALSE(static_cast<bool>(reachFarData(l.m)));
    const Edge &e = edgeAt(l.m, kLea + 3);
    const TargetId word = *entry(l.m, EntryKind::GotWord, kFar);
    EXPECT_EQ(e.target, word) << "the edge now addresses the word holding far + 0";
    EXPECT_EQ(l.text[kLea + 1], 0x8b) << "lea became mov: the address is loaded";
    ASSERT_FALSE(static_cast<bool>(relocate(l.m)));
    EXPECT_EQ(l.field(kLea + 3), l.rel(l.m.addressOf(word), -4, kLea + 3));
}

TEST(Graph, AFieldOutOfRangeIsRecordedForTheFarReachDecision)
{
    Laid l(0x20000, 0x30000, 0x40000);
    // The GOT far from the code: the GOT-relative load cannot reach its word.
    for (Entry &e : l.m.entries)
        if (e.kind == EntryKind::GotWord)
            e.addr += 0x7f0000000000;
    ASSERT_FALSE(static_cast<bool>(rewriteCalls(l.m)));
    llvm::Error err = relocate(l.m);
    ASSERT_TRUE(static_cast<bool>(err));
    EXPECT_NE(toString(std::move(err)).find("'data'"), std::string::npos) << "named by the object's symbol";
    ASSERT_EQ(l.m.overflows.size(), 1u);
    EXPECT_EQ(l.m.overflows[0].symbol, kData);
    EXPECT_EQ(l.m.overflows[0].offset, 16u);
}

} // namespace
