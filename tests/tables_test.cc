// The loader's table managers (src/loader/passes/Tables.cpp) on a small
// hand-built graph: sections, symbols and relocations written here, no
// object file, no mapping.  One scan plans every table; placing them gives
// each entry its own aligned place in its table.
#include "Internal.h" // src/loader

#include <gtest/gtest.h>

using namespace percpu::loader;

namespace {

enum : uint32_t { kText = 1, kTbss = 2, kRela = 3 };
enum : uint32_t { kExt = 1, kData = 2, kIfunc = 3, kTv = 4 };

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
    o.symbols = {Symbol{}, symbol("ext", STT_FUNC, SHN_UNDEF, 0), symbol("data", STT_OBJECT, SHN_UNDEF, 0),
                 symbol("pick", STT_GNU_IFUNC, kText, 0), symbol("tv", STT_TLS, kTbss, 8)};
    o.relocs[kRela] = {
        {0, R_X86_64_PLT32, kExt, -4},             // two calls, one stub
        {8, R_X86_64_PLT32, kExt, -4},
        {16, R_X86_64_REX_GOTPCRELX, kData, -4},   // a GOT entry
        {24, R_X86_64_TLSGD, kTv, -4},             // a GD pair
        {32, R_X86_64_TLSLD, kTv, -4},             // the module's LD pair
        {40, R_X86_64_GOTPC32_TLSDESC, kTv, -4},   // a descriptor
        {44, R_X86_64_TLSDESC_CALL, kTv, 0},       // nothing
    };
    return o;
}

TEST(Tables, OneScanPlansEveryTable)
{
    Module m;
    m.obj = graph();
    m.target = m.obj.target;
    const TablePlan p = planTables(m);
    EXPECT_EQ(p.gotSyms, (std::vector<uint32_t>{kExt, kData, kIfunc}));
    EXPECT_EQ(p.stubSyms, (std::vector<uint32_t>{kExt, kIfunc}));
    EXPECT_EQ(p.jumpSyms, (std::vector<uint32_t>{kIfunc}));
    EXPECT_TRUE(p.offsetSlots.empty());
    EXPECT_EQ(p.farStubs, 0u); // no PC-relative reference to external data
    EXPECT_EQ(p.tlsBytes, 16u + 16u + 32u);
}

TEST(Tables, PlacedTablesGiveEveryEntryItsOwnAlignedPlace)
{
    Module m;
    m.obj = graph();
    m.target = m.obj.target;
    const TablePlan p = planTables(m);
    std::vector<std::pair<uint64_t, uint64_t>> ranges; // [begin, end) of each table
    uint64_t at = 0x10000;
    for (size_t t = 0; t < kTableCount; ++t) {
        at = llvm::alignTo(at, kTables[t].align);
        const uint64_t bytes = kTables[t].bytes(m, p);
        kTables[t].place(m, p, at);
        ranges.emplace_back(at, at + bytes);
        at += bytes;
    }
    auto in = [&](size_t table, uint64_t a, uint64_t size) {
        return a >= ranges[table].first && a + size <= ranges[table].second;
    };
    const size_t plt = 0, got = 2, tlsTable = 3;
    ASSERT_STREQ(kTables[plt].name, "PLT stubs");
    ASSERT_STREQ(kTables[got].name, "GOT");
    ASSERT_STREQ(kTables[tlsTable].name, "TLS entries");
    const unsigned stub = m.target->pltStubSize;
    EXPECT_TRUE(in(plt, m.pltStub[kExt], stub));
    EXPECT_TRUE(in(plt, m.pltStub[kIfunc], stub));
    EXPECT_NE(m.pltStub[kExt], m.pltStub[kIfunc]);
    EXPECT_EQ(m.pltStub[kData], 0u);
    std::set<uint64_t> words{m.gotEntry[kExt], m.gotEntry[kData], m.gotEntry[kIfunc], m.jumpSlot[kIfunc]};
    EXPECT_EQ(words.size(), 4u) << "a GOT entry each, and the jump slot apart";
    for (uint64_t w : words) {
        EXPECT_TRUE(in(got, w, 8));
        EXPECT_EQ(w % 8, 0u);
    }
    EXPECT_EQ(m.jumpSlot[kExt], 0u);
    ASSERT_EQ(m.tlsEntry.size(), 2u); // the GD pair and the descriptor of tv
    const uint64_t pair = m.tlsEntry.at({kTv, TlsUse::GdPair});
    const uint64_t desc = m.tlsEntry.at({kTv, TlsUse::Descriptor});
    EXPECT_TRUE(in(tlsTable, m.tlsLdPair, 16));
    EXPECT_TRUE(in(tlsTable, pair, 16));
    EXPECT_TRUE(in(tlsTable, desc, 32));
    EXPECT_EQ(std::set<uint64_t>({m.tlsLdPair, pair, desc}).size(), 3u);
    EXPECT_EQ(ranges[tlsTable].first % 16, 0u);
}

} // namespace
