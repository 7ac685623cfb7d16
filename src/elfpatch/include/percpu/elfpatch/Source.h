//===- Source.h - where in the source a place of an object is -------------===//
//
// For diagnostics a developer reads where they work: a section offset of an
// object turned into a source file, line and column from the object's DWARF
// line tables (LLVM's DWARFDebugLine over .debug_line, relocated by its
// DWARFContext in relocatable objects, -gz read), and the enclosing function
// from the symbol table.  The DIE tree is not read: LLVM's walk of it
// crashes on some damaged .debug_info, and its line-table parser on some
// damaged .debug_line (both found by the fuzzer), so attachSourceLocations
// reads DWARF in a child process: a crash there costs the line numbers,
// never the check.  Malformed DWARF is not an error: the place is then only
// as precise as the symbol table makes it.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_SOURCE_H
#define PERCPU_ELFPATCH_SOURCE_H

#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Object.h"

#include <memory>
#include <optional>
#include <vector>

namespace percpu::elfpatch {

// In-process: for callers that trust the object's DWARF (or run in a
// process of their own, as attachSourceLocations's child does).
class SourceLocator {
public:
    // `obj` (and the buffer it was read from) must outlive the locator.
    explicit SourceLocator(const ObjectFile &obj);
    ~SourceLocator();
    // The source place of `offset` in executable section `section`, or
    // nullopt when neither DWARF nor the symbol table tells anything.
    // `useDwarf` false: the symbol table's function only.
    std::optional<SourceLocation> locate(uint32_t section, uint64_t offset, bool useDwarf = true);

private:
    struct Dwarf;
    const ObjectFile &obj_;
    std::unique_ptr<Dwarf> dwarf_; // made on first use
    bool triedDwarf_ = false;
};

// Sets Diagnostic::source for each diagnostic located (file, section,
// offset) in executable code of one of `files`: the function from the
// symbol table here, file, line and column from DWARF read in a forked
// child (its output read back through a pipe; if it dies, the places keep
// the function alone).  CONTEXT: forks, so for single-threaded callers (the
// command-line tool); the library's runChecks does not call it.
void attachSourceLocations(std::vector<Diagnostic> &diags, const std::vector<ObjectFile> &files);

// Rule type-mismatch, from DWARF: a per-CPU variable declared in one of
// `files` (DW_AT_declaration, what gcc -g emits for the externs a unit
// uses; clang emits none) with a type whose size differs from the
// definition's in another.  The DIE tree is walked in a forked child, as
// for attachSourceLocations; a child that dies reports nothing.  Each
// diagnostic is placed at the declaration's source line.
std::vector<Diagnostic> typeMismatches(const std::vector<ObjectFile> &files);

} // namespace percpu::elfpatch

#endif
