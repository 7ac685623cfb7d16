//===- ObjectEdit.cpp - editing the object model --------------------------===//
//
// What the patcher does to an ObjectFile between readObject and
// writeRelocatable: add a local symbol, remove symbols or sections, with
// every index that refers to them (relocations, groups, links) renumbered.
//===----------------------------------------------------------------------===//
#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Object.h"
#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Target.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Object/ELF.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <optional>
#include <cstring>
#include <set>

using namespace llvm;
using namespace llvm::ELF;
using llvm::object::ELF64LE;
using llvm::object::ELFFile;


namespace percpu::elfpatch {

uint32_t sectionSymbol(const ObjectFile &obj, uint32_t section)
{
    for (uint32_t i = 1; i < obj.symbols.size(); ++i)
        if (obj.symbols[i].type == STT_SECTION && obj.symbols[i].shndx == section)
            return i;
    return 0;
}

namespace {

void renumberSymbols(ObjectFile &obj, const std::vector<uint32_t> &map)
{
    for (auto &[rela, list] : obj.relocs)
        for (Reloc &r : list)
            r.symbol = map[r.symbol];
    for (Section &s : obj.sections)
        if (s.type == SHT_GROUP && s.info < map.size())
            s.info = map[s.info];
}

} // namespace

uint32_t addLocalSymbol(ObjectFile &obj, Symbol sym)
{
    if (obj.symbols.empty())
        obj.symbols.emplace_back();
    uint32_t at = firstGlobalSymbol(obj);
    std::vector<uint32_t> map(obj.symbols.size());
    for (uint32_t i = 0; i < map.size(); ++i)
        map[i] = i < at ? i : i + 1;
    obj.symbols.insert(obj.symbols.begin() + at, std::move(sym));
    renumberSymbols(obj, map);
    return at;
}

Error removeSymbols(ObjectFile &obj, const std::vector<uint32_t> &indices)
{
    std::set<uint32_t> gone(indices.begin(), indices.end());
    std::vector<uint32_t> map(obj.symbols.size());
    uint32_t next = 0;
    for (uint32_t i = 0; i < obj.symbols.size(); ++i)
        map[i] = gone.count(i) ? UINT32_MAX : next++;
    for (auto &[rela, list] : obj.relocs)
        for (Reloc &r : list)
            if (map[r.symbol] == UINT32_MAX)
                return makeError(Rule::Internal, obj.path, obj.sectionLabel(rela), r.offset,
                                 obj.symbols[r.symbol].name,
                                 "relocation still refers to a removed symbol");
    for (const Section &s : obj.sections)
        if (s.type == SHT_GROUP && s.info < map.size() && map[s.info] == UINT32_MAX)
            return makeError(Rule::Internal, obj.path, s.name, std::nullopt, "",
                             "group signature symbol removed");
    renumberSymbols(obj, map);
    std::vector<Symbol> kept;
    for (uint32_t i = 0; i < obj.symbols.size(); ++i)
        if (!gone.count(i))
            kept.push_back(std::move(obj.symbols[i]));
    obj.symbols = std::move(kept);
    return Error::success();
}

Error removeSections(ObjectFile &obj, const std::vector<uint32_t> &indices)
{
    std::set<uint32_t> gone(indices.begin(), indices.end());
    std::vector<uint32_t> map(obj.sections.size());
    uint32_t next = 0;
    for (uint32_t i = 0; i < obj.sections.size(); ++i)
        map[i] = gone.count(i) ? 0 : next++;

    // Section symbols of removed sections go; any other reference is a bug.
    std::vector<uint32_t> deadSyms;
    for (uint32_t i = 1; i < obj.symbols.size(); ++i) {
        const Symbol &s = obj.symbols[i];
        if (s.isDefinedInSection() && gone.count(s.shndx)) {
            if (s.type != STT_SECTION)
                return makeError(Rule::Internal, obj.path, obj.sectionLabel(s.shndx), s.value, s.name,
                                 "symbol '" + s.name + "' is still defined in a removed section");
            deadSyms.push_back(i);
        }
    }
    if (Error e = removeSymbols(obj, deadSyms))
        return e;
    for (Section &s : obj.sections) {
        if (gone.count(s.index) || s.index == 0)
            continue;
        if (s.link && gone.count(s.link))
            return makeError(Rule::Internal, obj.path, s.name, std::nullopt, "",
                             "sh_link names a removed section");
        s.link = map[s.link];
        if ((s.type == SHT_RELA || s.type == SHT_REL || (s.flags & SHF_INFO_LINK)) && s.info &&
            s.info < map.size()) {
            if (gone.count(s.info))
                return makeError(Rule::Internal, obj.path, s.name, std::nullopt, "",
                                 "sh_info names a removed section");
            s.info = map[s.info];
        }
        if (s.type == SHT_GROUP) {
            std::vector<uint8_t> data(s.data.begin(), s.data.begin() + 4);
            for (size_t off = 4; off < s.data.size(); off += 4) {
                uint32_t m;
                std::memcpy(&m, s.data.data() + off, 4);
                if (gone.count(m))
                    continue;
                m = map[m];
                data.insert(data.end(), reinterpret_cast<uint8_t *>(&m),
                            reinterpret_cast<uint8_t *>(&m) + 4);
            }
            s.data = std::move(data);
            s.size = s.data.size();
        }
    }
    for (Symbol &s : obj.symbols)
        if (s.isDefinedInSection())
            s.shndx = map[s.shndx];
    std::map<uint32_t, std::vector<Reloc>> relocs;
    for (auto &[idx, list] : obj.relocs)
        if (!gone.count(idx))
            relocs[map[idx]] = std::move(list);
    obj.relocs = std::move(relocs);
    std::vector<Section> kept;
    for (Section &s : obj.sections)
        if (!gone.count(s.index)) {
            s.index = map[s.index];
            kept.push_back(std::move(s));
        }
    obj.sections = std::move(kept);
    if (obj.symtabIndex)
        obj.symtabIndex = map[obj.symtabIndex];
    return Error::success();
}

} // namespace percpu::elfpatch
