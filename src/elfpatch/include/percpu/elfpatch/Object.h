//===- Object.h - an editable ELF64 little-endian object -----------------===//
//
// readObject() reads an ELF64LE file (relocatable object or linked program)
// with LLVM's libObject and checks every table and offset it uses; the result
// is an in-memory copy that the patcher edits and writeRelocatable()
// serialises again (ET_REL only).  What it does not model it refuses with a
// precise `malformed` diagnostic rather than guessing: REL (non-RELA)
// relocation sections, big-endian or 32-bit files. Extended section numbering
// (more than 65,279 sections: SHN_XINDEX and SHT_SYMTAB_SHNDX) is read and
// written.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_OBJECT_H
#define PERCPU_ELFPATCH_OBJECT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBufferRef.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace percpu::elfpatch {

class Target;

// Symbol::shndx holds a section's real index, which may be 65,280 or more in
// an object with extended numbering, so st_shndx's reserved values are kept
// apart from section indices as 0xffff0000 | value.
constexpr uint32_t reservedShndx(uint16_t v) { return 0xffff0000u | v; }
constexpr uint32_t kShnAbs = reservedShndx(0xfff1);    // SHN_ABS
constexpr uint32_t kShnCommon = reservedShndx(0xfff2); // SHN_COMMON

// The section of DECLARE_PER_CPU's declaration records (<percpu/percpu.h>,
// PCPU_DECL_SECTION): NUL-terminated declarators ("hits", "buf[64]").
constexpr llvm::StringLiteral kDeclSection = ".percpu_decl";

struct Section {
    uint32_t index = 0;
    std::string name;
    uint32_t type = 0;
    uint64_t flags = 0;
    uint64_t addr = 0;
    uint32_t link = 0;
    uint32_t info = 0;
    uint64_t addralign = 0;
    uint64_t entsize = 0;
    uint64_t size = 0;          // sh_size; for SHT_NOBITS there is no data
    uint64_t fileOffset = 0;    // as read
    std::vector<uint8_t> data;  // contents (empty for SHT_NOBITS)

    // Where each instruction of an executable section starts and how long
    // it is ({offset, size}, ascending): the Target's decoding sweep, made
    // on first use by an arch that needs one (x86-64's variable-length
    // code) and kept with the section, so that a Target holds no state of
    // any object.  Valid while the bytes change only in place, instruction
    // for instruction of the same length (the --indirect and far-path
    // rewrites); code that changes lengths clears it.  Not synchronised:
    // one thread analyses one object at a time.
    mutable std::vector<std::pair<uint64_t, uint64_t>> instructionIndex;
    mutable bool indexed = false;
};

struct Symbol {
    std::string name;
    uint8_t type = 0;       // STT_*
    uint8_t binding = 0;    // STB_*
    uint8_t other = 0;      // st_other (visibility)
    uint32_t shndx = 0;     // SHN_UNDEF, a section index, or reservedShndx(st_shndx)
    uint64_t value = 0;
    uint64_t size = 0;

    bool isDefinedInSection() const;
    // STV_DEFAULT, STV_INTERNAL, STV_HIDDEN or STV_PROTECTED: the low two
    // bits of st_other (ELF's ELF64_ST_VISIBILITY).
    uint8_t visibility() const { return other & 0x3; }
};

struct Reloc {
    uint64_t offset = 0;
    uint32_t type = 0;
    uint32_t symbol = 0;
    int64_t addend = 0;
};

struct ObjectFile {
    std::string path;
    // The bytes readObject read (not owned: valid while the caller keeps the
    // buffer it gave readObject), for readers that need the whole file
    // (SourceLocator's DWARF).
    llvm::MemoryBufferRef buffer;
    uint16_t elfType = 0;   // ET_REL, ET_EXEC, ET_DYN
    uint16_t machine = 0;
    const Target *target = nullptr;     // targetFor(machine), set by readObject
    uint8_t osabi = 0;
    uint8_t abiVersion = 0;
    uint32_t eflags = 0;
    uint64_t entry = 0;
    std::vector<Section> sections;      // [0] is the null section
    std::vector<Symbol> symbols;        // .symtab; [0] is the null symbol
    uint32_t symtabIndex = 0;           // 0 when there is no .symtab
    std::map<uint32_t, std::vector<Reloc>> relocs; // by SHT_RELA section index
    // Names that the object's declaration records say are per-CPU (the
    // leading identifier of each declarator in kDeclSection).
    std::set<std::string> perCpuDecls;

    bool isRelocatable() const;
    const Section *sectionByName(llvm::StringRef name) const;
    // Name used in diagnostics for section `index` ("#index" when unnamed).
    std::string sectionLabel(uint32_t index) const;
    // What a reference to symbol `index` + `offset` names for a developer:
    // the symbol, or where it is a section symbol or an assembler-local
    // anchor (`.LANCHOR0`, what gcc's section anchors use), the named
    // symbol that covers that place, else the section.
    std::string referencedName(uint32_t index, int64_t offset) const;
    // The section a SHT_RELA section applies to (its sh_info).
    uint32_t relocTarget(uint32_t relaIndex) const { return sections[relaIndex].info; }
};

// Reads and validates `buffer` (named `path` in diagnostics).  Errors are
// DiagnosticErrors with rule "malformed".
llvm::Expected<ObjectFile> readObject(llvm::StringRef path, llvm::MemoryBufferRef buffer);

// Serialises a relocatable object: sections in index order, each aligned to
// its sh_addralign, the section header table last; .shstrtab, the symbol
// table and its string table, and RELA sections are regenerated from the
// model.  Deterministic.
llvm::Expected<std::vector<uint8_t>> writeRelocatable(const ObjectFile &obj);

// Removes sections (by index) and renumbers: sh_link/sh_info, symbol
// st_shndx, group members and the relocation map follow.  Sections still
// referenced (by a symbol other than their own section symbol, a group, a
// link) make it fail.  Section symbols of removed sections are dropped, and
// relocations against them must have been redirected before.
llvm::Error removeSections(ObjectFile &obj, const std::vector<uint32_t> &indices);

// Removes symbols (by index) and renumbers relocations and group signatures.
llvm::Error removeSymbols(ObjectFile &obj, const std::vector<uint32_t> &indices);

// Appends a local symbol before the first global one; returns its index.
// Every relocation and group signature is renumbered accordingly.
uint32_t addLocalSymbol(ObjectFile &obj, Symbol sym);

// Index of the first non-local symbol (the symbol table's sh_info).
uint32_t firstGlobalSymbol(const ObjectFile &obj);

// Index of the STT_SECTION symbol of `section`, or 0.
uint32_t sectionSymbol(const ObjectFile &obj, uint32_t section);

// The machine's name for diagnostics ("x86-64", "AArch64", "machine 243").
std::string machineName(uint16_t machine);
// "unsupported machine 21 (expected x86-64 or AArch64)": the message for an
// object of a machine that targetFor() does not support.
std::string unsupportedMachine(uint16_t machine);

} // namespace percpu::elfpatch

#endif
