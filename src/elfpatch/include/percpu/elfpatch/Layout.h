//===- Layout.h - the per-CPU block of an object and its canonical layout -===//
//
// The one place that decides how a per-CPU block is laid out: `patch` uses
// it to merge an object's per-CPU sections, the module loader to place a
// module's block, `layout` and `check` to report on it.  The rule is the
// percpu.ld fragment's, so that a host and a module lay out the same input
// the same way:
//
//   groups in canonical order: ..first, ..page_aligned, ..read_mostly,
//   (plain), ..shared_aligned  (both spellings, .data..percpu* and the 2006
//   .data.percpu*); within a group, sections in section-index order, each at
//   its sh_addralign; the offset rounded up to 64 after each group.
//
// Section names that start with ".data..percpu" but carry another suffix are
// per-CPU sections of group Unknown (the `unknown-section` rule); they are
// placed after the canonical groups so that a layout always exists.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_LAYOUT_H
#define PERCPU_ELFPATCH_LAYOUT_H

#include "percpu/elfpatch/Object.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace percpu::elfpatch {

enum class Group { First, PageAligned, ReadMostly, Plain, SharedAligned, Unknown };
constexpr unsigned kGroupCount = 6;

const char *groupName(Group g);        // "first", "page_aligned", ..., "unknown"
// Alignment a group's variables must have (0: none beyond their own).
uint64_t groupAlignment(Group g, uint64_t cacheline);

struct SectionClass {
    Group group = Group::Plain;
    bool oldSpelling = false; // .data.percpu* (2006) rather than .data..percpu*
};

// Classifies a section name; nullopt when it is not a per-CPU section.
std::optional<SectionClass> classifySection(llvm::StringRef name);

// Whether `s` holds per-CPU data: a per-CPU name and SHT_PROGBITS/SHT_NOBITS
// (a table that merely carries such a name is reported by `section-flags`
// and otherwise left alone).
bool isPerCpuDataSection(const Section &s);

// The 2006 convention's symbol prefix (and this project's before per-CPU
// symbols took their C names): still per-CPU on input everywhere.
constexpr llvm::StringLiteral kLegacyPerCpuPrefix = "per_cpu__";
constexpr llvm::StringLiteral kMergedSection = ".data..percpu";
constexpr llvm::StringLiteral kLayoutNote = ".note.percpu";
constexpr uint64_t kGroupStep = 64; // the fragment's ALIGN(64) between groups
constexpr uint64_t kPageSize = 4096; // page_aligned data, and the fragment's ALIGN(4096)

struct PlacedSection {
    uint32_t section = 0;  // index in the object
    Group group = Group::Plain;
    uint64_t offset = 0;   // in the block
    uint64_t size = 0;
    uint64_t align = 1;
};

struct PlacedSymbol {
    std::string name;
    uint32_t symbol = 0;   // index in .symtab
    uint32_t section = 0;  // the per-CPU input section
    Group group = Group::Plain;
    uint64_t offset = 0;   // in the block
    uint64_t size = 0;
    uint64_t align = 1;    // the layout note's, else the group's, else inferred:
                           // min(offset's, size's power of two)
    bool global = false;
    // Identity for baselines: in an `ld -r` object two inputs may each have
    // a `static DEFINE_PER_CPU` of one name.  `input` is the STT_FILE symbol
    // that precedes a local symbol (empty for globals and when absent),
    // `occurrence` counts earlier symbols of the same name and input.
    std::string input;
    unsigned occurrence = 0;
};

struct BlockLayout {
    std::vector<PlacedSection> sections; // in block order
    std::vector<PlacedSymbol> symbols;   // in block order (by offset)
    uint64_t size = 0;
    uint64_t align = 1;
    // Offset of section `index` in the block, or nullopt when not per-CPU.
    std::optional<uint64_t> offsetOf(uint32_t index) const;
    bool empty() const { return sections.empty(); }
};

// Plans the block of a relocatable object.
BlockLayout planBlock(const ObjectFile &obj);

// The linker-defined bounds of a linked program's per-CPU block (percpu.ld,
// the kernel's vmlinux.lds): __per_cpu_start, __per_cpu_end and
// __per_cpu_page_end (the template's page end), nullptr where absent (the
// last definition where a name repeats).
struct BlockBounds {
    const Symbol *start = nullptr, *end = nullptr, *pageEnd = nullptr;
};
BlockBounds blockBounds(const ObjectFile &obj);

// The block of a linked program: the symbols between
// __per_cpu_start and __per_cpu_end, offsets relative to __per_cpu_start.
// Sets `found` to whether both bounds exist.
BlockLayout linkedBlock(const ObjectFile &obj, bool &found);

// Whether `sym` designates per-CPU data in `obj`: defined in a per-CPU
// section (any symbol type, section symbols included), or undefined and
// declared per-CPU (isDeclaredPerCpu).
bool isPerCpuSymbol(const ObjectFile &obj, const Symbol &sym);

// Whether `obj` declares `name` per-CPU: a DECLARE_PER_CPU record for it
// (ObjectFile::perCpuDecls), or the legacy per_cpu__ spelling.  This is what
// an undefined reference means; where it binds decides whether that is right.
bool isDeclaredPerCpu(const ObjectFile &obj, llvm::StringRef name);

// The other spelling of a per-CPU variable's name: "x" for "per_cpu__x" and
// "per_cpu__x" for "x" (the loader, check and pcpu_dlsym bind across them).
std::string otherPerCpuSpelling(llvm::StringRef name);

// Whether `name` is a symbol that never names a variable: assembler locals
// (.L...), mapping symbols ($d, $x, $a, $t and their "$d.N" forms), empty.
bool isNonVariableSymbolName(llvm::StringRef name);

// The layout record written by `patch` (an SHT_NOTE, owner "percpu", type 1):
//   u32 version (3), u32 symbol count, u64 block size, u64 block alignment,
//   then per symbol: u64 offset, u64 size, u32 group (Group's value), u64
//   alignment, u32 name length, name bytes, padded to 4.  Version 1 had no
//   group, version 2 no alignment (both still read).
// planBlock reads it back: a patched object's variables keep the group and
// the alignment they had before the merge (for `layout`, `misaligned` and
// `layout-drift`), although the merged section's sh_addralign is larger.
std::vector<uint8_t> encodeLayoutNote(const BlockLayout &layout);
struct NoteSymbol {
    std::string name;
    uint64_t offset = 0, size = 0;
    std::optional<Group> group;    // absent in version 1
    std::optional<uint64_t> align; // absent before version 3
};
// The symbols of a layout record; nullopt when the bytes are not one.
std::optional<std::vector<NoteSymbol>> decodeLayoutNote(llvm::ArrayRef<uint8_t> note);

} // namespace percpu::elfpatch

#endif
