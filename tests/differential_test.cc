// Differential test of the relocation engine against ld.lld: for fixture
// objects, the bytes the loader's engine writes for given section addresses
// must equal what ld.lld writes when it links the same object at the same
// addresses.  Accounted for explicitly: lld is run with --no-relax (no GOT
// relaxation), fields of GOT-relative relocations are left out (each side
// has its own GOT) and so are those against COMMON symbols (each side
// allocates them) and of AArch64 calls to undefined symbols (lld's go to the
// next instruction, ours to a stub), undefined symbols are 0 on both sides, SHF_MERGE is
// cleared on both sides' input (lld would merge strings), and .eh_frame,
// which lld rebuilds, is not compared; initial-exec TLS loads (the fast
// paths' pcpu__thread_rseq_offset) are not compared either: lld relaxes them
// to local exec in an executable whatever --no-relax says, rewriting the
// instruction, where the loader loads the GOT entry.  Every other byte of
// every allocated section counts.
//
// The engine is the loader's own passes over the object's graph, run here
// on blocks at the chosen addresses: nothing is mapped or loaded.
#include "Internal.h" // src/loader: the graph and its passes

#include "percpu/elfpatch/Object.h"
#include "percpu/elfpatch/Target.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

using namespace percpu;
using namespace llvm::ELF;

namespace {

// The loader's passes over `obj`'s graph with each allocated section's
// block at addresses[index] (0: not placed), written into buffers returned
// by section index.  The tables get addresses below the sections but no
// memory: their places differ from any linker's, so callers leave fields
// that address them out of comparisons.  Undefined symbols are 0 (the
// resolver's undefinedAsZero policy, as ld.lld --unresolved-symbols=
// ignore-all).  External data stays in reach at these addresses: the
// far-data pass, which would rewrite instructions, is not run.
llvm::Expected<std::map<uint32_t, std::vector<uint8_t>>> relocateAt(const elfpatch::ObjectFile &obj,
                                                                    const std::vector<uint64_t> &addresses)
{
    using namespace loader;
    Module m;
    m.name = obj.path;
    m.obj = obj;
    m.policy.undefinedAsZero = true;
    if (llvm::Error e = validate(m))
        return e;
    if (llvm::Error e = buildGraph(m))
        return e;
    std::map<uint32_t, std::vector<uint8_t>> bytes;
    uint64_t lowest = UINT64_MAX;
    for (const elfpatch::Section &s : obj.sections) {
        if (!s.index || !(s.flags & SHF_ALLOC) || s.index >= addresses.size() || !addresses[s.index])
            continue;
        auto &b = bytes[s.index];
        b = s.type == SHT_NOBITS ? std::vector<uint8_t>(s.size, 0) : s.data;
        m.blocks[s.index] = Block{addresses[s.index], b.data()};
        lowest = std::min(lowest, addresses[s.index]);
    }
    uint64_t tables = 0;
    for (size_t t = 0; t < kTableCount; ++t)
        tables += llvm::alignTo(tableBytes(m, kTables[t]), 16);
    uint64_t at = lowest == UINT64_MAX ? 0x1000 : (lowest - tables - 4096) & ~uint64_t{15};
    for (size_t t = 0; t < kTableCount; ++t) {
        placeTable(m, kTables[t], at);
        at += llvm::alignTo(tableBytes(m, kTables[t]), 16);
    }
    for (Pass pass : {resolveSymbols, rewriteCalls, relocate})
        if (llvm::Error e = pass(m))
            return e;
    return bytes;
}

std::string env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

elfpatch::ObjectFile readOrDie(const std::string &path, std::unique_ptr<llvm::MemoryBuffer> &keep)
{
    auto buf = llvm::MemoryBuffer::getFile(path);
    EXPECT_TRUE(static_cast<bool>(buf)) << path;
    keep = std::move(*buf);
    auto obj = elfpatch::readObject(path, keep->getMemBufferRef());
    EXPECT_TRUE(static_cast<bool>(obj)) << (obj ? "" : llvm::toString(obj.takeError()));
    return std::move(*obj);
}

void differential(const std::string &objPath)
{
    std::unique_ptr<llvm::MemoryBuffer> objBuf;
    elfpatch::ObjectFile original = readOrDie(objPath, objBuf);
    const elfpatch::Target *target = elfpatch::targetFor(original.machine);
    ASSERT_TRUE(target);
    // lld merges SHF_MERGE sections (strings), moving their contents; both
    // sides get a copy of the object where they are ordinary sections.
    elfpatch::ObjectFile obj = original;
    for (elfpatch::Section &s : obj.sections)
        if (s.flags & SHF_MERGE) {
            s.flags &= ~uint64_t{SHF_MERGE | SHF_STRINGS};
            s.entsize = 0;
        }
    auto plain = elfpatch::writeRelocatable(obj);
    ASSERT_TRUE(static_cast<bool>(plain));
    std::string plainPath = objPath + ".plain.o";
    std::ofstream(plainPath, std::ios::binary)
        .write(reinterpret_cast<const char *>(plain->data()), static_cast<std::streamsize>(plain->size()));

    // Each allocated section at its own address, in its own output section.
    std::vector<uint64_t> addresses(obj.sections.size(), 0);
    std::string script = "SECTIONS {\n";
    std::set<std::string> names;
    for (const elfpatch::Section &s : obj.sections) {
        if (!s.index || !(s.flags & SHF_ALLOC) || s.type == SHT_GROUP)
            continue;
        ASSERT_TRUE(names.insert(s.name).second) << "section names must be unique: " << s.name;
        addresses[s.index] = 0x10000000 + uint64_t{s.index} * 0x100000;
        char line[256];
        snprintf(line, sizeof(line), "  out%u 0x%llx : { KEEP(*(%s)) }\n", s.index,
                 static_cast<unsigned long long>(addresses[s.index]), s.name.c_str());
        script += line;
    }
    script += "}\n";
    std::string base = objPath + ".diff";
    std::ofstream(base + ".ld") << script;
    std::string cmd = env("PERCPU_LLD") + " --no-relax -z norelro -e 0 --unresolved-symbols=ignore-all -T " +
                      base + ".ld -o " + base + ".elf " + plainPath + " 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char out[4096];
    std::string lldOut;
    while (fgets(out, sizeof(out), p))
        lldOut += out;
    ASSERT_EQ(pclose(p), 0) << cmd << "\n" << lldOut;

    std::unique_ptr<llvm::MemoryBuffer> linkedBuf;
    elfpatch::ObjectFile linked = readOrDie(base + ".elf", linkedBuf);
    auto ours = relocateAt(obj, addresses);
    ASSERT_TRUE(static_cast<bool>(ours)) << llvm::toString(ours.takeError());

    // Bytes to leave out: fields of GOT-relative relocations.
    std::map<uint32_t, std::set<uint64_t>> skip;
    size_t relocsCompared = 0;
    for (const auto &[rela, list] : obj.relocs) {
        uint32_t t = obj.relocTarget(rela);
        if (!addresses[t])
            continue;
        for (const elfpatch::Reloc &r : list) {
            elfpatch::RelExpr e = target->relExpr(r.type);
            // COMMON symbols are allocated by each side where it likes.
            bool common = obj.symbols[r.symbol].shndx == percpu::elfpatch::kShnCommon;
            // AArch64 calls to undefined symbols (0 on both sides, out of a
            // branch's reach): ld.lld makes them branch to the next
            // instruction, as for undefined weak symbols; ours go to a stub.
            bool farCall = obj.machine == EM_AARCH64 && e == elfpatch::RelExpr::PLT &&
                           obj.symbols[r.symbol].shndx == SHN_UNDEF;
            // Initial exec: lld rewrites the instruction (x86-64: REX, opcode
            // and ModRM before the field; AArch64: the instruction itself).
            bool initialExec = obj.machine == EM_X86_64 ? r.type == R_X86_64_GOTTPOFF
                                                        : r.type == R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21 ||
                                                              r.type == R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC;
            if (initialExec && obj.machine == EM_X86_64 && r.offset >= 3)
                for (uint64_t k = 1; k <= 3; ++k)
                    skip[t].insert(r.offset - k);
            if (common || farCall || initialExec || elfpatch::needsGot(e) || e == elfpatch::RelExpr::GotRelative ||
                e == elfpatch::RelExpr::GotBaseRelative ||
                e == elfpatch::RelExpr::PltGotRelative) { // GOT and stubs placed differently
                for (uint64_t k = 0; k < 8; ++k)
                    skip[t].insert(r.offset + k);
            } else {
                ++relocsCompared;
            }
        }
    }
    size_t bytesCompared = 0;
    for (const auto &[index, bytes] : *ours) {
        const elfpatch::Section *out = linked.sectionByName("out" + std::to_string(index));
        ASSERT_NE(out, nullptr) << "lld dropped " << obj.sections[index].name;
        ASSERT_EQ(out->addr, addresses[index]);
        // .eh_frame is rebuilt by lld (CIEs merged, the terminator dropped):
        // not a relocation question.
        if (obj.sections[index].type == SHT_NOBITS || obj.sections[index].name == ".eh_frame")
            continue;
        ASSERT_EQ(out->data.size(), bytes.size()) << obj.sections[index].name;
        for (size_t i = 0; i < bytes.size(); ++i) {
            if (skip[index].count(i))
                continue;
            ASSERT_EQ(static_cast<unsigned>(bytes[i]), static_cast<unsigned>(out->data[i]))
                << objPath << ": " << obj.sections[index].name << "+0x" << std::hex << i
                << ": ours vs ld.lld";
            ++bytesCompared;
        }
    }
    EXPECT_GT(relocsCompared, 10u) << "the fixture should exercise relocations";
    EXPECT_GT(bytesCompared, 100u);
    std::remove(plainPath.c_str());
    std::remove((base + ".ld").c_str());
    std::remove((base + ".elf").c_str());
}

TEST(Differential, RelocationsMatchLld)
{
    std::string dir = env("PERCPU_FIXTURES");
    ASSERT_FALSE(dir.empty());
    std::vector<std::string> names = {"diff.o", "counters.o", "small.o", "user.o"};
    // More objects of the variant (hand-written assembly), space-separated.
    std::string extra = env("PERCPU_DIFF_EXTRA");
    for (size_t at = 0; at < extra.size();) {
        size_t end = extra.find(' ', at);
        end = end == std::string::npos ? extra.size() : end;
        if (end > at)
            names.push_back(extra.substr(at, end - at));
        at = end + 1;
    }
    for (const std::string &name : names) {
        SCOPED_TRACE(name);
        differential(dir + "/" + name);
    }
}

} // namespace
