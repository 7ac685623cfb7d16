//===- Object.cpp - the object model, and reading ELF64LE objects ---------===//
//
// Reading goes through llvm::object::ELFFile, which checks the header and the
// bounds of every table it returns; on top of that we check what ELFFile
// leaves to its users: symbol section indices, relocation symbol indices and
// offsets, sh_link/sh_info of relocation sections.  Editing the model is
// ObjectEdit.cpp's, writing it out ObjectWrite.cpp's.
//===----------------------------------------------------------------------===//
#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Layout.h"
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

bool Symbol::isDefinedInSection() const
{
    return shndx != SHN_UNDEF && shndx < reservedShndx(0);
}

bool ObjectFile::isRelocatable() const { return elfType == ET_REL; }

const Section *ObjectFile::sectionByName(StringRef name) const
{
    for (const Section &s : sections)
        if (s.index && s.name == name)
            return &s;
    return nullptr;
}

std::string ObjectFile::sectionLabel(uint32_t index) const
{
    if (index < sections.size() && !sections[index].name.empty())
        return sections[index].name;
    return "#" + std::to_string(index);
}

std::string ObjectFile::referencedName(uint32_t index, int64_t offset) const
{
    if (index >= symbols.size())
        return "";
    const Symbol &s = symbols[index];
    const bool anchor = s.type == llvm::ELF::STT_SECTION || isNonVariableSymbolName(s.name);
    if (!anchor || !s.isDefinedInSection())
        return s.name;
    const uint64_t at = (s.type == llvm::ELF::STT_SECTION ? 0 : s.value) + static_cast<uint64_t>(offset);
    for (const Symbol &v : symbols)
        if (&v != &s && v.shndx == s.shndx && v.type != llvm::ELF::STT_SECTION && !isNonVariableSymbolName(v.name) &&
            at >= v.value && at < v.value + std::max<uint64_t>(v.size, 1))
            return v.name;
    return s.type == llvm::ELF::STT_SECTION ? sectionLabel(s.shndx) : s.name;
}

// The name of a machine we support or a user may bring by mistake, or nullptr.
static const char *knownMachineName(uint16_t machine)
{
    if (const Target *t = targetFor(machine))
        return t->name;
    switch (machine) {
    case EM_386: return "i386";
    case EM_ARM: return "ARM";
    case EM_RISCV: return "RISC-V";
    default: return nullptr;
    }
}

std::string machineName(uint16_t machine)
{
    const char *name = knownMachineName(machine);
    return name ? name : "machine " + std::to_string(machine);
}

std::string unsupportedMachine(uint16_t machine)
{
    std::string expected;
    const ArrayRef<uint16_t> all = supportedMachines();
    for (size_t i = 0; i < all.size(); ++i)
        expected += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + machineName(all[i]);
    const char *name = knownMachineName(machine);
    return "unsupported machine " + (name ? std::string(name) : std::to_string(machine)) + " (expected " +
           expected + ")";
}

namespace {

std::string hex(uint64_t v)
{
    std::string s;
    raw_string_ostream(s) << format_hex(v, 0);
    return s;
}


} // namespace

// DECLARE_PER_CPU's records: each a declarator as the preprocessor spelled
// it ("hits", "buf [64]"); the symbol is its leading identifier.  Records
// that do not start with one are ignored (a record is a hint about intent,
// never a definition).
static void readDeclarations(ObjectFile &obj)
{
    for (const Section &s : obj.sections) {
        if (s.type != SHT_PROGBITS || s.name != kDeclSection || s.flags & SHF_ALLOC)
            continue;
        StringRef all(reinterpret_cast<const char *>(s.data.data()), s.data.size());
        while (!all.empty()) {
            auto [rec, rest] = all.split('\0');
            all = rest;
            rec = rec.ltrim(" \t");
            size_t n = 0;
            while (n < rec.size() && (isAlnum(rec[n]) || rec[n] == '_' || rec[n] == '$'))
                ++n;
            if (n && !isDigit(rec[0]))
                obj.perCpuDecls.insert(rec.take_front(n).str());
        }
    }
}

// readObject's steps, in order: each checks what it reads and fails with a
// "malformed" diagnostic naming file, section, offset and symbol.
class Reader {
public:
    Reader(StringRef path, StringRef bytes) : file(path.str()), bytes(bytes) {}
    Error checkIdentity();
    Error readHeader();
    Error readSections();
    Error readSymbols();
    Error readRelocations();
    Error checkGroups();

    ObjectFile obj;

private:
    Error fail(std::string section, std::optional<uint64_t> off, std::string msg,
               std::string symbol = {}) const
    {
        return makeError(Rule::Malformed, file, std::move(section), off, std::move(symbol),
                         std::move(msg));
    }

    const std::string file;
    const StringRef bytes;
    std::optional<ELFFile<ELF64LE>> elfFile;
    ArrayRef<ELF64LE::Shdr> shdrs;
    uint32_t shndxTable = 0; // the SHT_SYMTAB_SHNDX section, if any
};

// The identity bytes: ELF, 64-bit, little-endian (and not LLVM bitcode).
Error Reader::checkIdentity()
{
    if (startsWith(bytes, "BC\xc0\xde") || startsWith(bytes, "\xde\xc0\x17\x0b"))
        return fail("", std::nullopt,
                    "LLVM bitcode, not an ELF object (compiled with -flto?): percpu works on "
                    "machine code; compile without -flto");
    if (bytes.size() < 16 || !startsWith(bytes, "\x7f" "ELF"))
        return fail("", std::nullopt, "not an ELF file (bad magic)");
    if (static_cast<uint8_t>(bytes[EI_CLASS]) != ELFCLASS64)
        return fail("", std::nullopt, "not a 64-bit ELF file (EI_CLASS " +
                                          std::to_string(static_cast<uint8_t>(bytes[EI_CLASS])) +
                                          ", expected ELFCLASS64)");
    if (static_cast<uint8_t>(bytes[EI_DATA]) != ELFDATA2LSB)
        return fail("", std::nullopt, "not a little-endian ELF file (expected ELFDATA2LSB)");
    return Error::success();
}

// The ELF header: machine and type this project reads.
Error Reader::readHeader()
{
    auto elfOrErr = ELFFile<ELF64LE>::create(bytes);
    if (!elfOrErr)
        return fail("", std::nullopt, toString(elfOrErr.takeError()));
    elfFile.emplace(std::move(*elfOrErr));
    const auto &hdr = elfFile->getHeader();
    obj.path = file;
    obj.elfType = hdr.e_type;
    obj.machine = hdr.e_machine;
    obj.osabi = hdr.e_ident[EI_OSABI];
    obj.abiVersion = hdr.e_ident[EI_ABIVERSION];
    obj.eflags = hdr.e_flags;
    obj.entry = hdr.e_entry;
    obj.target = targetFor(obj.machine);
    if (!obj.target)
        return fail("", std::nullopt,
                    unsupportedMachine(obj.machine));
    if (obj.elfType != ET_REL && obj.elfType != ET_EXEC && obj.elfType != ET_DYN)
        return fail("", std::nullopt,
                    "unsupported ELF type " + std::to_string(obj.elfType) +
                        " (expected a relocatable object, an executable or a shared object)");
    if (hdr.e_shentsize != sizeof(ELF64LE::Shdr) && hdr.e_shnum != 0)
        return fail("", std::nullopt, "e_shentsize is " + std::to_string(hdr.e_shentsize) +
                                          ", expected " + std::to_string(sizeof(ELF64LE::Shdr)));
    return Error::success();
}

// The section headers and contents, with their links and alignments.
Error Reader::readSections()
{
    const ELFFile<ELF64LE> &elf = *elfFile;
    auto shdrsOrErr = elf.sections();
    if (!shdrsOrErr)
        return fail("", std::nullopt, toString(shdrsOrErr.takeError()));
    shdrs = *shdrsOrErr;
    if (shdrs.empty() && obj.isRelocatable())
        return fail("", std::nullopt, "relocatable object without a section header table");

    obj.sections.resize(shdrs.size());
    for (size_t i = 0; i < shdrs.size(); ++i) {
        const auto &sh = shdrs[i];
        Section &s = obj.sections[i];
        s.index = static_cast<uint32_t>(i);
        s.type = sh.sh_type;
        s.flags = sh.sh_flags;
        s.addr = sh.sh_addr;
        s.link = sh.sh_link;
        s.info = sh.sh_info;
        s.addralign = sh.sh_addralign;
        s.entsize = sh.sh_entsize;
        s.size = sh.sh_size;
        s.fileOffset = sh.sh_offset;
        if (i == 0) {
            // Section 0's fields only matter for extended numbering, which
            // the writer recomputes.
            s = Section{};
            continue;
        }
        auto nameOrErr = elf.getSectionName(sh);
        if (!nameOrErr)
            return fail("#" + std::to_string(i), std::nullopt,
                        "bad section name: " + toString(nameOrErr.takeError()));
        s.name = nameOrErr->str();
        if (s.addralign > 1 && !isPowerOf2_64(s.addralign))
            return fail(s.name, std::nullopt,
                        "sh_addralign " + std::to_string(s.addralign) + " is not a power of two");
        if (sh.sh_link >= shdrs.size())
            return fail(s.name, std::nullopt,
                        "sh_link " + std::to_string(sh.sh_link) + " is not a section index (" +
                            std::to_string(shdrs.size()) + " sections)");
        if ((s.flags & SHF_INFO_LINK) && sh.sh_info >= shdrs.size())
            return fail(s.name, std::nullopt,
                        "sh_info " + std::to_string(sh.sh_info) + " (SHF_INFO_LINK) is not a section index (" +
                            std::to_string(shdrs.size()) + " sections)");
        if (s.type == SHT_REL && obj.isRelocatable())
            return fail(s.name, std::nullopt,
                        "SHT_REL relocations are not used on " + machineName(obj.machine) +
                            " (expected SHT_RELA)");
        // The gABI: "SHF_COMPRESSED ... cannot be used with SHF_ALLOC".  Its
        // relocations are checked against the uncompressed size, and a
        // loader maps the bytes as they are: accepted, one could write past
        // the section.
        if ((s.flags & SHF_COMPRESSED) && (s.flags & SHF_ALLOC))
            return fail(s.name, std::nullopt,
                        "SHF_COMPRESSED on an allocated section (SHF_ALLOC): only sections that are "
                        "not loaded may be compressed");
        // A SHT_RELA section's bytes are not kept: readRelocations parses
        // them into obj.relocs, from which writeRelocatable rebuilds them
        // (in a large module they were a third of the bytes copied).
        if (s.type != SHT_NOBITS && s.type != SHT_NULL && s.type != SHT_RELA) {
            auto dataOrErr = elf.getSectionContents(sh);
            if (!dataOrErr)
                return fail(s.name, std::nullopt, toString(dataOrErr.takeError()));
            s.data.assign(dataOrErr->begin(), dataOrErr->end());
        }
        if (s.type == SHT_SYMTAB) {
            if (obj.symtabIndex)
                return fail(s.name, std::nullopt, "more than one SHT_SYMTAB section");
            obj.symtabIndex = s.index;
        }
        if (s.type == SHT_SYMTAB_SHNDX) {
            if (shndxTable)
                return fail(s.name, std::nullopt, "more than one SHT_SYMTAB_SHNDX section");
            shndxTable = s.index;
        }
    }
    return Error::success();
}

// The symbol table, extended indices resolved, each symbol inside its section.
Error Reader::readSymbols()
{
    const ELFFile<ELF64LE> &elf = *elfFile;
    if (obj.symtabIndex) {
        const auto &symtab = shdrs[obj.symtabIndex];
        std::string secName = obj.sections[obj.symtabIndex].name;
        if (symtab.sh_entsize != sizeof(ELF64LE::Sym))
            return fail(secName, std::nullopt,
                        "sh_entsize " + std::to_string(symtab.sh_entsize) + ", expected " +
                            std::to_string(sizeof(ELF64LE::Sym)));
        auto symsOrErr = elf.symbols(&symtab);
        if (!symsOrErr)
            return fail(secName, std::nullopt, toString(symsOrErr.takeError()));
        auto strtabOrErr = elf.getStringTableForSymtab(symtab, shdrs);
        if (!strtabOrErr)
            return fail(secName, std::nullopt, toString(strtabOrErr.takeError()));
        if (symtab.sh_info > symsOrErr->size())
            return fail(secName, std::nullopt,
                        "sh_info (first global symbol) " + std::to_string(symtab.sh_info) +
                            " is past the " + std::to_string(symsOrErr->size()) + " symbols");
        // Extended section indices: one 32-bit word per symbol.
        const Section *xindex = shndxTable ? &obj.sections[shndxTable] : nullptr;
        if (xindex && (xindex->link != obj.symtabIndex || xindex->data.size() != symsOrErr->size() * 4))
            return fail(xindex->name, std::nullopt,
                        xindex->link != obj.symtabIndex
                            ? "sh_link " + std::to_string(xindex->link) + " is not the symbol table"
                            : "holds " + std::to_string(xindex->data.size()) + " bytes for " +
                                  std::to_string(symsOrErr->size()) + " symbols (4 bytes each expected)");
        uint32_t i = 0;
        obj.symbols.reserve(symsOrErr->size());
        for (const auto &sym : *symsOrErr) {
            Symbol s;
            auto nameOrErr = sym.getName(*strtabOrErr);
            if (!nameOrErr)
                return fail(secName, i * sizeof(ELF64LE::Sym),
                            "symbol " + std::to_string(i) + ": " + toString(nameOrErr.takeError()));
            s.name = nameOrErr->str();
            s.type = sym.getType();
            s.binding = sym.getBinding();
            s.other = sym.st_other;
            s.shndx = sym.st_shndx >= SHN_LORESERVE ? reservedShndx(sym.st_shndx) : sym.st_shndx;
            s.value = sym.st_value;
            s.size = sym.st_size;
            if (sym.st_shndx == SHN_XINDEX) {
                if (!xindex)
                    return fail(secName, i * sizeof(ELF64LE::Sym),
                                "symbol '" + s.name +
                                    "' uses an extended section index (SHN_XINDEX) but there is no "
                                    "SHT_SYMTAB_SHNDX section",
                                s.name);
                s.shndx = support::endian::read32le(xindex->data.data() + i * 4);
                if (s.shndx == SHN_UNDEF)
                    s.shndx = shdrs.size(); // reported as out of range below
            }
            if (s.isDefinedInSection() && s.shndx >= shdrs.size())
                return fail(secName, i * sizeof(ELF64LE::Sym),
                            "symbol '" + s.name + "' (index " + std::to_string(i) +
                                ") has section index " + std::to_string(s.shndx) +
                                ", past the " + std::to_string(shdrs.size()) + " sections",
                            s.name);
            if (obj.isRelocatable() && s.isDefinedInSection()) {
                // The writer regenerates these tables: nothing may live in them.
                // (GCC defines COMDAT signature symbols in SHT_GROUP sections.)
                uint32_t t = obj.sections[s.shndx].type;
                if (t == SHT_SYMTAB || t == SHT_STRTAB || t == SHT_RELA || t == SHT_REL ||
                    t == SHT_SYMTAB_SHNDX)
                    return fail(secName, i * sizeof(ELF64LE::Sym),
                                "symbol '" + s.name + "' is defined in " + obj.sections[s.shndx].name +
                                    ", a symbol, string or relocation table",
                                s.name);
            }
            if (obj.isRelocatable() && s.isDefinedInSection() && s.type != STT_SECTION) {
                const Section &in = obj.sections[s.shndx];
                if (s.value > in.size)
                    return fail(secName, i * sizeof(ELF64LE::Sym),
                                "symbol '" + s.name + "' at " + hex(s.value) + " is past the end of " +
                                    in.name + " (" + hex(in.size) + " bytes)",
                                s.name);
            }
            obj.symbols.push_back(std::move(s));
            ++i;
        }
        if (obj.symbols.empty())
            obj.symbols.emplace_back();
    }
    return Error::success();
}

// The relocation tables: targets with contents, symbols in range, fields inside
// their section (uncompressed size for SHF_COMPRESSED).
Error Reader::readRelocations()
{
    const ELFFile<ELF64LE> &elf = *elfFile;
    const Target *arch = obj.target;
    for (const Section &s : obj.sections) {
        if (s.type != SHT_RELA)
            continue;
        // A linked program's or shared object's dynamic relocations
        // (.rela.dyn, .rela.plt) index .dynsym, not .symtab (which a stripped
        // file lacks): they are ld.so's, and no rule reads them.  Only
        // relocations kept against the symbol table (--emit-relocs) are read.
        if (!obj.isRelocatable() && (!obj.symtabIndex || s.link != obj.symtabIndex))
            continue;
        const auto &sh = shdrs[s.index];
        if (sh.sh_entsize != sizeof(ELF64LE::Rela))
            return fail(s.name, std::nullopt,
                        "sh_entsize " + std::to_string(sh.sh_entsize) + ", expected " +
                            std::to_string(sizeof(ELF64LE::Rela)));
        if (obj.isRelocatable()) {
            if (s.info == 0 || s.info >= obj.sections.size())
                return fail(s.name, std::nullopt,
                            "sh_info " + std::to_string(s.info) +
                                " does not name the section to relocate");
            if (s.link != obj.symtabIndex || !obj.symtabIndex)
                return fail(s.name, std::nullopt,
                            "sh_link " + std::to_string(s.link) + " is not the symbol table");
        }
        auto relasOrErr = elf.relas(sh);
        if (!relasOrErr)
            return fail(s.name, std::nullopt, toString(relasOrErr.takeError()));
        std::vector<Reloc> relocs;
        relocs.reserve(relasOrErr->size());
        const Section *target = obj.isRelocatable() ? &obj.sections[s.info] : nullptr;
        if (target && !relasOrErr->empty()) {
            if (target->type == SHT_NOBITS || target->type == SHT_NULL)
                return fail(s.name, std::nullopt,
                            "relocations apply to " + obj.sectionLabel(target->index) +
                                ", which has no contents (" +
                                (target->type == SHT_NOBITS ? "SHT_NOBITS" : "SHT_NULL") + ")");
            // The symbol and string tables, relocation tables and groups are
            // metadata that the writer regenerates: a relocation into them
            // has no meaning a linker would give it.
            static constexpr std::pair<uint32_t, const char *> metadata[] = {
                {SHT_SYMTAB, "SHT_SYMTAB"}, {SHT_STRTAB, "SHT_STRTAB"}, {SHT_RELA, "SHT_RELA"},
                {SHT_REL, "SHT_REL"},       {SHT_GROUP, "SHT_GROUP"},   {SHT_SYMTAB_SHNDX, "SHT_SYMTAB_SHNDX"},
                {SHT_DYNSYM, "SHT_DYNSYM"}, {SHT_HASH, "SHT_HASH"},     {SHT_DYNAMIC, "SHT_DYNAMIC"}};
            for (const auto &[type, typeName] : metadata)
                if (target->type == type)
                    return fail(s.name, std::nullopt,
                                "relocations apply to " + obj.sectionLabel(target->index) + ", a " +
                                    typeName + " section; only sections with code or data can be relocated");
        }
        // A compressed section (-gz: SHF_COMPRESSED, an Elf64_Chdr then the
        // zlib or zstd stream) is relocated as its uncompressed contents.
        uint64_t limit = target ? target->size : 0;
        bool compressed = target && (target->flags & SHF_COMPRESSED);
        if (compressed) {
            if (target->data.size() < sizeof(ELF64LE::Chdr))
                return fail(target->name, std::nullopt,
                            "SHF_COMPRESSED section of " + std::to_string(target->data.size()) +
                                " bytes is too small for its compression header (" +
                                std::to_string(sizeof(ELF64LE::Chdr)) + " bytes)");
            ELF64LE::Chdr ch;
            std::memcpy(&ch, target->data.data(), sizeof(ch));
            limit = ch.ch_size;
        }
        uint64_t k = 0;
        for (const auto &r : *relasOrErr) {
            Reloc rel;
            rel.offset = r.r_offset;
            rel.type = r.getType(false);
            rel.symbol = r.getSymbol(false);
            rel.addend = r.r_addend;
            if (rel.symbol >= obj.symbols.size() && (rel.symbol || obj.isRelocatable()))
                return fail(s.name, k * sizeof(ELF64LE::Rela),
                            "relocation " + std::to_string(k) + " refers to symbol " +
                                std::to_string(rel.symbol) + ", past the " +
                                std::to_string(obj.symbols.size()) + " symbols");
            if (target) {
                // Bytes the relocation writes; 1 (inside the section) for
                // machines no Target knows.
                unsigned width = arch ? arch->relocWidth(rel.type) : 1;
                if (rel.offset > limit || limit - rel.offset < width)
                    return fail(target->name, rel.offset,
                                "relocation " + std::to_string(k) + " in " + s.name + " at offset " +
                                    hex(rel.offset) + " (" + std::to_string(width) +
                                    " bytes) is past the end of the section (" + hex(limit) +
                                    " bytes" + (compressed ? " uncompressed" : "") + ")",
                                rel.symbol < obj.symbols.size() ? obj.symbols[rel.symbol].name : "");
            }
            relocs.push_back(rel);
            ++k;
        }
        obj.relocs[s.index] = std::move(relocs);
    }
    return Error::success();
}

// Section groups: members must be sections.
Error Reader::checkGroups()
{
    for (const Section &s : obj.sections) {
        if (s.type != SHT_GROUP)
            continue;
        if (s.data.size() % 4 || s.data.size() < 4)
            return fail(s.name, std::nullopt, "SHT_GROUP size is not a multiple of 4");
        for (size_t off = 4; off < s.data.size(); off += 4) {
            uint32_t m;
            std::memcpy(&m, s.data.data() + off, 4);
            if (m == 0 || m >= obj.sections.size())
                return fail(s.name, off, "group member " + std::to_string(m) +
                                             " is not a section index");
        }
    }
    return Error::success();
}

Expected<ObjectFile> readObject(StringRef path, MemoryBufferRef buffer)
{
    Reader r(path, buffer.getBuffer());
    for (Error (Reader::*step)() : {&Reader::checkIdentity, &Reader::readHeader, &Reader::readSections,
                                    &Reader::readSymbols, &Reader::readRelocations, &Reader::checkGroups})
        if (Error e = (r.*step)())
            return e;
    readDeclarations(r.obj);
    r.obj.buffer = buffer;
    return std::move(r.obj);
}

uint32_t firstGlobalSymbol(const ObjectFile &obj)
{
    uint32_t i = 1;
    while (i < obj.symbols.size() && obj.symbols[i].binding == STB_LOCAL)
        ++i;
    return i;
}

} // namespace percpu::elfpatch
