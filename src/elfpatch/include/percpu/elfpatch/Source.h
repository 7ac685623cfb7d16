//===- Source.h - where in the source a place of an object is -------------===//
//
// For diagnostics a developer reads where they work: a section offset of an
// object turned into a source file, line and column, and the enclosing
// function, from the object's DWARF (LLVM's DWARFContext over the line
// table and DW_TAG_subprogram; relocatable objects' debug sections are
// relocated by it), or the function alone from the symbol table when the
// object has no debug information.  Malformed DWARF is not an error here:
// the place is then only as precise as the symbol table makes it.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_SOURCE_H
#define PERCPU_ELFPATCH_SOURCE_H

#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Object.h"

#include <memory>
#include <optional>
#include <vector>

namespace percpu::elfpatch {

class SourceLocator {
public:
    // `obj` (and the buffer it was read from) must outlive the locator.
    explicit SourceLocator(const ObjectFile &obj);
    ~SourceLocator();
    // The source place of `offset` in executable section `section`, or
    // nullopt when neither DWARF nor the symbol table tells anything.
    std::optional<SourceLocation> locate(uint32_t section, uint64_t offset);

private:
    struct Dwarf;
    const ObjectFile &obj_;
    std::unique_ptr<Dwarf> dwarf_; // made on first use
    bool triedDwarf_ = false;
};

// Sets Diagnostic::source for each diagnostic located (file, section,
// offset) in executable code of one of `files`.
void attachSourceLocations(std::vector<Diagnostic> &diags, const std::vector<ObjectFile> &files);

} // namespace percpu::elfpatch

#endif
