//===- Source.cpp - source places of object offsets (DWARF, symbols) ------===//
#include "percpu/elfpatch/Source.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/DebugInfo/DIContext.h"
#include "llvm/DebugInfo/DWARF/DWARFContext.h"
#include "llvm/Object/ObjectFile.h"

#include <map>

using namespace llvm;

namespace percpu::elfpatch {

struct SourceLocator::Dwarf {
    std::unique_ptr<object::ObjectFile> file;
    std::unique_ptr<DWARFContext> context;
};

SourceLocator::SourceLocator(const ObjectFile &obj) : obj_(obj) {}
SourceLocator::~SourceLocator() = default;

std::optional<SourceLocation> SourceLocator::locate(uint32_t section, uint64_t offset)
{
    SourceLocation loc;
    if (!triedDwarf_) {
        triedDwarf_ = true;
        bool hasDebugInfo = false;
        for (const Section &s : obj_.sections)
            hasDebugInfo |= s.name == ".debug_info" || s.name == ".zdebug_info";
        if (hasDebugInfo && obj_.buffer.getBufferSize()) {
            auto file = object::ObjectFile::createObjectFile(obj_.buffer);
            if (file) {
                dwarf_ = std::make_unique<Dwarf>();
                dwarf_->file = std::move(*file);
                // Damaged DWARF makes a place less precise, not a message.
                auto quiet = [](Error e) { consumeError(std::move(e)); };
                dwarf_->context = DWARFContext::create(*dwarf_->file, DWARFContext::ProcessDebugRelocations::Process,
                                                       nullptr, "", quiet, quiet);
            } else {
                consumeError(file.takeError());
            }
        }
    }
    if (dwarf_ && dwarf_->context) {
        // In a relocatable object each section starts at 0: the section
        // index tells the places apart, as the line table's relocations do.
        const uint64_t address = obj_.isRelocatable() ? offset : obj_.sections[section].addr + offset;
        DILineInfoSpecifier spec(DILineInfoSpecifier::FileLineInfoKind::AbsoluteFilePath,
                                 DILineInfoSpecifier::FunctionNameKind::ShortName);
        DILineInfo info = dwarf_->context->getLineInfoForAddress({address, section}, spec);
        if (info.FileName != DILineInfo::BadString && info.Line) {
            loc.file = info.FileName;
            loc.line = info.Line;
            loc.column = info.Column;
        }
        if (info.FunctionName != DILineInfo::BadString)
            loc.function = info.FunctionName;
    }
    if (loc.function.empty()) {
        // The symbol table's function holding the place (a sized STT_FUNC),
        // else the nearest function symbol before it.
        const Symbol *best = nullptr;
        for (const Symbol &s : obj_.symbols) {
            if (s.type != ELF::STT_FUNC || s.shndx != section || s.name.empty())
                continue;
            const uint64_t start = obj_.isRelocatable() ? s.value : s.value - obj_.sections[section].addr;
            if (start > offset)
                continue;
            if (s.size && offset - start < s.size) {
                best = &s;
                break;
            }
            if (!s.size && (!best || best->value < s.value))
                best = &s;
        }
        if (best)
            loc.function = best->name;
    }
    if (loc.file.empty() && loc.function.empty())
        return std::nullopt;
    return loc;
}

void attachSourceLocations(std::vector<Diagnostic> &diags, const std::vector<ObjectFile> &files)
{
    std::map<const ObjectFile *, std::unique_ptr<SourceLocator>> locators;
    for (Diagnostic &d : diags) {
        if (!d.offset || d.section.empty() || d.source)
            continue;
        for (const ObjectFile &f : files) {
            if (f.path != d.file)
                continue;
            const Section *s = f.sectionByName(d.section);
            if (!s || !(s->flags & ELF::SHF_EXECINSTR))
                break;
            auto &loc = locators[&f];
            if (!loc)
                loc = std::make_unique<SourceLocator>(f);
            d.source = loc->locate(s->index, d.sourceOffset ? *d.sourceOffset : *d.offset);
            break;
        }
    }
}

} // namespace percpu::elfpatch
