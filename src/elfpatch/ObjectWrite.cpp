//===- ObjectWrite.cpp - writing relocatable objects -----------------------===//
//
// Writing is the part no library offers for relocatable objects (llvm-objcopy's
// object model is not a public API): the layout is the simplest valid one.
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

// writeRelocatable's steps, in order, on a copy of the object whose tables
// they regenerate.
class Writer {
public:
    explicit Writer(const ObjectFile &in) : obj(in) {}
    void addNameTables();
    Error encodeSymbols();
    void encodeRelocations();
    std::vector<uint8_t> emit() const;

private:
    static uint32_t addString(std::vector<uint8_t> &tab, std::map<std::string, uint32_t> &seen,
                              const std::string &s);

    ObjectFile obj;
    uint32_t shstrndx = 0, xindex = 0;
    bool extended = false;         // SHN_LORESERVE sections or more
    std::vector<uint32_t> nameOff; // by section: its name in .shstrtab
};

uint32_t Writer::addString(std::vector<uint8_t> &tab, std::map<std::string, uint32_t> &seen,
                           const std::string &s)
{
    if (s.empty())
        return 0;
    auto it = seen.find(s);
    if (it != seen.end())
        return it->second;
    uint32_t at = static_cast<uint32_t>(tab.size());
    tab.insert(tab.end(), s.begin(), s.end());
    tab.push_back(0);
    seen.emplace(s, at);
    return at;
}

// .shstrtab (added when missing) with every section's name, and, from
// SHN_LORESERVE sections on, the SHT_SYMTAB_SHNDX table symbols name their
// section through (added when missing).
void Writer::addNameTables()
{
    for (const Section &s : obj.sections)
        if (s.type == SHT_STRTAB && s.name == ".shstrtab")
            shstrndx = s.index;
    if (!shstrndx) {
        Section s;
        s.index = static_cast<uint32_t>(obj.sections.size());
        s.name = ".shstrtab";
        s.type = SHT_STRTAB;
        s.addralign = 1;
        obj.sections.push_back(s);
        shstrndx = s.index;
    }
    // Extended numbering: from SHN_LORESERVE sections on, symbols name their
    // section through a SHT_SYMTAB_SHNDX table (added when missing).
    extended = obj.sections.size() >= SHN_LORESERVE;
    for (const Section &s : obj.sections)
        if (s.type == SHT_SYMTAB_SHNDX)
            xindex = s.index;
    if (extended && !xindex && obj.symtabIndex) {
        Section s;
        s.index = static_cast<uint32_t>(obj.sections.size());
        s.name = ".symtab_shndx";
        s.type = SHT_SYMTAB_SHNDX;
        s.link = obj.symtabIndex;
        s.addralign = 4;
        s.entsize = 4;
        obj.sections.push_back(s);
        xindex = s.index;
    }
    std::vector<uint8_t> shstr{0};
    std::map<std::string, uint32_t> shstrSeen;
    nameOff.assign(obj.sections.size(), 0);
    for (const Section &s : obj.sections)
        nameOff[s.index] = addString(shstr, shstrSeen, s.name);
    obj.sections[shstrndx].size = shstr.size();
    obj.sections[shstrndx].data = std::move(shstr);
}

// .symtab, its .strtab and .symtab_shndx from the symbols.
Error Writer::encodeSymbols()
{
    if (obj.symtabIndex) {
        Section &symtab = obj.sections[obj.symtabIndex];
        Section &strtab = obj.sections[symtab.link];
        if (strtab.type != SHT_STRTAB || strtab.index == shstrndx)
            return makeError(Rule::Internal, obj.path, symtab.name, std::nullopt, "",
                             "the symbol table's string table is not a separate SHT_STRTAB");
        std::vector<uint8_t> str{0};
        std::map<std::string, uint32_t> seen;
        std::vector<uint8_t> tab(obj.symbols.size() * sizeof(ELF64LE::Sym));
        std::vector<uint8_t> shndx(xindex ? obj.symbols.size() * 4 : 0);
        for (size_t i = 0; i < obj.symbols.size(); ++i) {
            const Symbol &s = obj.symbols[i];
            ELF64LE::Sym e{};
            e.st_name = i ? addString(str, seen, s.name) : 0;
            e.st_info = static_cast<uint8_t>((s.binding << 4) | (s.type & 0xf));
            e.st_other = s.other;
            e.st_shndx = static_cast<uint16_t>(s.shndx); // reserved values keep their low half
            if (s.isDefinedInSection() && s.shndx >= SHN_LORESERVE) {
                if (!xindex)
                    return makeError(Rule::Internal, obj.path, symtab.name, std::nullopt, s.name,
                                     "extended section index without a SHT_SYMTAB_SHNDX table");
                e.st_shndx = SHN_XINDEX;
                support::endian::write32le(shndx.data() + i * 4, s.shndx);
            }
            e.st_value = s.value;
            e.st_size = s.size;
            std::memcpy(tab.data() + i * sizeof(e), &e, sizeof(e));
        }
        symtab.data = std::move(tab);
        symtab.size = symtab.data.size();
        symtab.info = firstGlobalSymbol(obj);
        symtab.entsize = sizeof(ELF64LE::Sym);
        strtab.data = std::move(str);
        strtab.size = strtab.data.size();
        if (xindex) {
            obj.sections[xindex].data = std::move(shndx);
            obj.sections[xindex].size = obj.sections[xindex].data.size();
            obj.sections[xindex].link = obj.symtabIndex;
            obj.sections[xindex].entsize = 4;
        }
    }
    return Error::success();
}

// The SHT_RELA sections from the relocation lists.
void Writer::encodeRelocations()
{
    for (auto &[idx, list] : obj.relocs) {
        Section &s = obj.sections[idx];
        std::vector<uint8_t> data(list.size() * sizeof(ELF64LE::Rela));
        for (size_t i = 0; i < list.size(); ++i) {
            ELF64LE::Rela r{};
            r.r_offset = list[i].offset;
            r.setSymbolAndType(list[i].symbol, list[i].type, false);
            r.r_addend = list[i].addend;
            std::memcpy(data.data() + i * sizeof(r), &r, sizeof(r));
        }
        s.data = std::move(data);
        s.size = s.data.size();
        s.entsize = sizeof(ELF64LE::Rela);
    }
}

// Layout: header, section contents, section header table.
std::vector<uint8_t> Writer::emit() const
{
    std::vector<uint64_t> offsets(obj.sections.size());
    uint64_t pos = sizeof(ELF64LE::Ehdr);
    for (const Section &s : obj.sections) {
        if (s.index == 0)
            continue;
        // File offsets need no more than page alignment in a relocatable
        // object (sh_addralign keeps the real constraint).
        pos = alignTo(pos, std::clamp<uint64_t>(s.addralign, 1, 4096));
        offsets[s.index] = pos;
        if (s.type != SHT_NOBITS && s.type != SHT_NULL)
            pos += s.data.size();
    }
    uint64_t shoff = alignTo(pos, 8);
    std::vector<uint8_t> out(shoff + obj.sections.size() * sizeof(ELF64LE::Shdr));

    ELF64LE::Ehdr eh{};
    std::memcpy(eh.e_ident, ElfMagic, 4);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_ident[EI_OSABI] = obj.osabi;
    eh.e_ident[EI_ABIVERSION] = obj.abiVersion;
    eh.e_type = ET_REL;
    eh.e_machine = obj.machine;
    eh.e_version = EV_CURRENT;
    eh.e_flags = obj.eflags;
    eh.e_ehsize = sizeof(ELF64LE::Ehdr);
    eh.e_shentsize = sizeof(ELF64LE::Shdr);
    eh.e_shnum = extended ? 0 : static_cast<uint16_t>(obj.sections.size());
    eh.e_shstrndx = static_cast<uint16_t>(shstrndx >= SHN_LORESERVE ? uint32_t{SHN_XINDEX} : shstrndx);
    eh.e_shoff = shoff;
    std::memcpy(out.data(), &eh, sizeof(eh));
    if (extended) { // section 0 holds the real count and string table index
        ELF64LE::Shdr sh0{};
        sh0.sh_size = obj.sections.size();
        sh0.sh_link = shstrndx >= SHN_LORESERVE ? shstrndx : 0;
        std::memcpy(out.data() + shoff, &sh0, sizeof(sh0));
    }
    for (const Section &s : obj.sections) {
        if (s.index == 0)
            continue;
        if (s.type != SHT_NOBITS && s.type != SHT_NULL && !s.data.empty())
            std::memcpy(out.data() + offsets[s.index], s.data.data(), s.data.size());
        ELF64LE::Shdr sh{};
        sh.sh_name = nameOff[s.index];
        sh.sh_type = s.type;
        sh.sh_flags = s.flags;
        sh.sh_addr = s.addr;
        sh.sh_offset = offsets[s.index];
        sh.sh_size = (s.type == SHT_NOBITS || s.type == SHT_NULL) ? s.size : s.data.size();
        sh.sh_link = s.link;
        sh.sh_info = s.info;
        sh.sh_addralign = s.addralign;
        sh.sh_entsize = s.entsize;
        std::memcpy(out.data() + shoff + s.index * sizeof(sh), &sh, sizeof(sh));
    }
    return out;
}

Expected<std::vector<uint8_t>> writeRelocatable(const ObjectFile &objIn)
{
    if (!objIn.isRelocatable())
        return makeError(Rule::Internal, objIn.path, "", std::nullopt, "",
                         "only relocatable objects can be written");
    Writer w(objIn);
    w.addNameTables();
    if (Error e = w.encodeSymbols())
        return e;
    w.encodeRelocations();
    return w.emit();
}

} // namespace percpu::elfpatch
