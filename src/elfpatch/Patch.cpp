//===- Patch.cpp - per-CPU section merging and indirect references ---------===//
#include "percpu/elfpatch/Patch.h"
#include "percpu/elfpatch/Target.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Object/ELFTypes.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

using namespace llvm;
using namespace llvm::ELF;

namespace percpu::elfpatch {
namespace {

// Sections (by index) that belong to a COMDAT or other group.
std::set<uint32_t> groupMembers(const ObjectFile &obj)
{
    std::set<uint32_t> members;
    for (const Section &s : obj.sections)
        if (s.type == SHT_GROUP)
            for (size_t off = 4; off + 4 <= s.data.size(); off += 4) {
                uint32_t m;
                std::memcpy(&m, s.data.data() + off, 4);
                members.insert(m);
            }
    return members;
}

bool alreadyPatched(const ObjectFile &obj, const BlockLayout &layout)
{
    if (layout.sections.size() != 1)
        return false;
    const Section &only = obj.sections[layout.sections[0].section];
    if (only.name != kMergedSection || layout.sections[0].offset != 0)
        return false;
    const Section *note = obj.sectionByName(kLayoutNote);
    return note && note->data == encodeLayoutNote(layout);
}

// The STT_SECTION symbol of `section`, added (local) when there is none.
uint32_t ensureSectionSymbol(ObjectFile &obj, uint32_t section)
{
    if (uint32_t sym = sectionSymbol(obj, section))
        return sym;
    Symbol s;
    s.type = STT_SECTION;
    s.binding = STB_LOCAL;
    s.shndx = section;
    return addLocalSymbol(obj, s);
}

// Appends an empty SHT_RELA section for `target`; returns its index.
uint32_t addRelaSection(ObjectFile &obj, uint32_t target)
{
    Section s;
    s.index = static_cast<uint32_t>(obj.sections.size());
    s.name = ".rela" + obj.sections[target].name;
    s.type = SHT_RELA;
    s.flags = SHF_INFO_LINK;
    s.link = obj.symtabIndex;
    s.info = target;
    s.addralign = alignof(llvm::object::ELF64LE::Rela);
    s.entsize = sizeof(llvm::object::ELF64LE::Rela);
    obj.sections.push_back(std::move(s));
    return static_cast<uint32_t>(obj.sections.size() - 1);
}

void setNote(ObjectFile &obj, const BlockLayout &layout)
{
    std::vector<uint8_t> data = encodeLayoutNote(layout);
    for (Section &s : obj.sections)
        if (s.name == kLayoutNote) {
            s.data = std::move(data);
            s.size = s.data.size();
            return;
        }
    Section s;
    s.index = static_cast<uint32_t>(obj.sections.size());
    s.name = kLayoutNote.str();
    s.type = SHT_NOTE;
    s.addralign = 4;
    s.data = std::move(data);
    s.size = s.data.size();
    obj.sections.push_back(std::move(s));
}

} // namespace

Expected<bool> mergePerCpuSections(ObjectFile &obj, const BlockLayout &layout, const PatchOptions &opts)
{
    if (layout.empty() || alreadyPatched(obj, layout))
        return false;
    constexpr uint64_t kMaxBlock = uint64_t{1} << 30; // the largest unit stride
    if (layout.size > kMaxBlock || layout.align > kMaxBlock)
        return makeError(Rule::BlockBudget, obj.path, obj.sectionLabel(layout.sections[0].section),
                         std::nullopt, "",
                         "per-CPU block of " + std::to_string(layout.size) + " bytes (alignment " +
                             std::to_string(layout.align) +
                             ") does not fit the 1 GiB a per-CPU unit can hold");
    // The layout record's name is patch's: a section of the object by that
    // name that is not such a record (other contents, symbols, relocations)
    // would be overwritten by it, leaving its symbols past its end.
    if (const Section *note = obj.sectionByName(kLayoutNote)) {
        std::string what;
        if (note->type != SHT_NOTE || (note->flags & SHF_ALLOC))
            what = "an allocated or non-note section";
        for (const Symbol &sym : obj.symbols)
            if (what.empty() && sym.type != STT_SECTION && sym.shndx == note->index)
                what = "a section that defines '" + sym.name + "'";
        for (const auto &[rela, list] : obj.relocs)
            if (what.empty() && obj.relocTarget(rela) == note->index && !list.empty())
                what = "a section with relocations";
        if (!what.empty())
            return makeError(Rule::Malformed, obj.path, note->name, std::nullopt, "",
                             "'" + kLayoutNote.str() + "' is " + what +
                                 "; the name is reserved for the per-CPU layout record that patch writes");
    }
    std::set<uint32_t> members = groupMembers(obj);
    for (const PlacedSection &p : layout.sections)
        if (members.count(p.section))
            return makeError(Rule::UnknownSection, obj.path, obj.sectionLabel(p.section), std::nullopt, "",
                             "per-CPU section is a member of a section group (COMDAT); it cannot be "
                             "merged into the module's block");

    // The merged section takes the place of the per-CPU section with the
    // lowest index; the others and their RELA sections go.
    uint32_t keep = UINT32_MAX;
    std::map<uint32_t, uint64_t> offsetOf;
    bool allNobits = true;
    uint64_t flags = SHF_ALLOC | SHF_WRITE;
    for (const PlacedSection &p : layout.sections) {
        keep = std::min(keep, p.section);
        offsetOf[p.section] = p.offset;
        allNobits &= obj.sections[p.section].type == SHT_NOBITS;
        flags |= obj.sections[p.section].flags & SHF_GNU_RETAIN; // keep --gc-sections roots
    }
    std::vector<uint8_t> data(allNobits ? 0 : layout.size, 0);
    if (!allNobits)
        for (const PlacedSection &p : layout.sections) {
            const Section &s = obj.sections[p.section];
            if (s.type != SHT_NOBITS)
                std::copy(s.data.begin(), s.data.end(), data.begin() + static_cast<long>(p.offset));
        }

    // A section symbol for the merged section.
    uint32_t mergedSym = ensureSectionSymbol(obj, keep);

    // Redirect relocations that use per-CPU section symbols.
    std::map<uint32_t, uint64_t> sectionSymOffset; // symbol index -> offset
    for (uint32_t i = 1; i < obj.symbols.size(); ++i) {
        const Symbol &s = obj.symbols[i];
        if (s.type == STT_SECTION && offsetOf.count(s.shndx))
            sectionSymOffset[i] = offsetOf[s.shndx];
    }
    for (auto &[rela, list] : obj.relocs)
        for (Reloc &r : list) {
            auto it = sectionSymOffset.find(r.symbol);
            if (it == sectionSymOffset.end())
                continue;
            r.symbol = mergedSym;
            r.addend = static_cast<int64_t>(static_cast<uint64_t>(r.addend) + it->second);
        }
    // Move the other per-CPU symbols.
    for (Symbol &s : obj.symbols)
        if (s.type != STT_SECTION && s.isDefinedInSection() && offsetOf.count(s.shndx)) {
            s.value += offsetOf[s.shndx];
            s.shndx = keep;
        }

    // Merge the per-CPU sections' own relocations.
    std::vector<Reloc> mergedRelocs;
    std::vector<uint32_t> remove;
    uint32_t keepRela = 0;
    for (auto &[rela, list] : obj.relocs) {
        uint32_t target = obj.relocTarget(rela);
        if (!offsetOf.count(target))
            continue;
        for (Reloc r : list) {
            r.offset += offsetOf[target];
            mergedRelocs.push_back(r);
        }
        if (target == keep)
            keepRela = rela;
        else
            remove.push_back(rela);
    }
    std::stable_sort(mergedRelocs.begin(), mergedRelocs.end(),
                     [](const Reloc &a, const Reloc &b) { return a.offset < b.offset; });
    if (!mergedRelocs.empty()) {
        if (!keepRela)
            keepRela = addRelaSection(obj, keep);
        obj.sections[keepRela].name = ".rela" + kMergedSection.str();
        obj.relocs[keepRela] = std::move(mergedRelocs);
    }

    Section &merged = obj.sections[keep];
    merged.name = kMergedSection.str();
    merged.type = allNobits ? SHT_NOBITS : SHT_PROGBITS;
    merged.flags = flags;
    merged.link = 0;
    merged.info = 0;
    merged.entsize = 0;
    merged.addralign = layout.align;
    if (opts.kernel) {
        uint64_t own = 1;
        bool oneGroup = true;
        for (const PlacedSection &p : layout.sections) {
            own = std::max<uint64_t>(own, p.align);
            oneGroup &= p.group == layout.sections.front().group;
        }
        if (oneGroup)
            merged.addralign = own;
    }
    merged.size = layout.size;
    merged.data = std::move(data);
    for (const PlacedSection &p : layout.sections)
        if (p.section != keep)
            remove.push_back(p.section);
    setNote(obj, layout);
    if (Error e = removeSections(obj, remove))
        return e;
    return true;
}

Expected<unsigned> makeIndirect(ObjectFile &obj, unsigned *slotCount)
{
    const Target *target = obj.target;
    if (!target)
        return makeError(Rule::Malformed, obj.path, "", std::nullopt, "",
                         unsupportedMachine(obj.machine));
    // Is there anything to rewrite?  (Relocations in allocated sections
    // against per-CPU symbols; debug sections are not loaded.)
    auto relevant = [&](uint32_t rela, const Reloc &r) {
        const Section &t = obj.sections[obj.relocTarget(rela)];
        return (t.flags & SHF_ALLOC) && r.symbol && isPerCpuSymbol(obj, obj.symbols[r.symbol]);
    };
    bool any = false;
    for (auto &[rela, list] : obj.relocs)
        for (const Reloc &r : list)
            any |= relevant(rela, r);
    if (!any)
        return 0u;

    // The slot section (and its symbol) exist before symbols are renumbered
    // by anything else.
    uint32_t slotSec = 0;
    for (StringRef name : {kSlotSection, kSlotSectionRelro})
        if (const Section *s = obj.sectionByName(name); s && !slotSec)
            slotSec = s->index;
    if (!slotSec) {
        Section s;
        s.index = static_cast<uint32_t>(obj.sections.size());
        s.name = kSlotSection.str();
        s.type = SHT_PROGBITS;
        s.flags = SHF_ALLOC | SHF_WRITE;
        s.addralign = kSlotSize; // raised below with the slots' size
        slotSec = s.index;
        obj.sections.push_back(std::move(s));
    }
    uint32_t slotSym = ensureSectionSymbol(obj, slotSec);
    uint32_t slotRela = 0;
    for (auto &[rela, list] : obj.relocs)
        if (obj.relocTarget(rela) == slotSec)
            slotRela = rela;
    if (!slotRela) {
        slotRela = addRelaSection(obj, slotSec);
        obj.relocs[slotRela];
    }

    // Existing slots are reused.
    std::map<std::pair<uint32_t, int64_t>, uint64_t> slots;
    for (const Reloc &r : obj.relocs[slotRela])
        slots[{r.symbol, r.addend}] = r.offset;
    std::vector<Reloc> newSlots;
    uint64_t slotSize = obj.sections[slotSec].data.size();
    auto slotFor = [&](uint32_t symbol, int64_t addend) -> Target::SlotRef {
        auto key = std::make_pair(symbol, addend);
        auto it = slots.find(key);
        if (it == slots.end()) {
            Reloc r;
            r.offset = slotSize;
            r.type = target->absolute64;
            r.symbol = symbol;
            r.addend = addend;
            newSlots.push_back(r);
            it = slots.emplace(key, slotSize).first;
            slotSize += kSlotSize;
        }
        return {slotSym, it->second};
    };

    Error errors = Error::success();
    unsigned rewritten = 0;
    for (auto &[rela, list] : obj.relocs) {
        if (rela == slotRela)
            continue;
        Section &sec = obj.sections[obj.relocTarget(rela)];
        for (Reloc &r : list) {
            if (!relevant(rela, r))
                continue;
            Reloc before = r;
            if (Error e = target->rewriteIndirect(obj, sec, r, list, slotFor))
                errors = joinErrors(std::move(errors), std::move(e));
            else if (r.symbol != before.symbol || r.type != before.type)
                ++rewritten;
        }
    }
    if (errors)
        return errors;
    if (slotSize > kSlotPage)
        return makeError(Rule::BlockBudget, obj.path, kSlotSection.str(), std::nullopt, "",
                         std::to_string(slotSize / kSlotSize) + " indirect slots do not fit one " +
                             std::to_string(kSlotPage / 1024) + " KiB page (at most " +
                             std::to_string(kMaxSlots) + ")");
    Section &slots_ = obj.sections[slotSec];
    slots_.data.resize(slotSize, 0);
    slots_.size = slotSize;
    // Aligned to its size rounded up to a power of two, the section cannot
    // cross a 4 KiB page (AArch64 code may share one ADRP between slots),
    // and it does not push what follows it onto a page of its own.
    slots_.addralign = std::max<uint64_t>(kSlotSize, llvm::PowerOf2Ceil(slotSize));
    auto &rl = obj.relocs[slotRela];
    rl.insert(rl.end(), newSlots.begin(), newSlots.end());
    if (slotCount)
        *slotCount = static_cast<unsigned>(slotSize / kSlotSize);
    return rewritten;
}

Expected<PatchResult> patchObject(const ObjectFile &objIn, ArrayRef<uint8_t> original,
                                  const PatchOptions &options)
{
    PatchResult result;
    if (!objIn.isRelocatable())
        return makeError(Rule::Malformed, objIn.path, "", std::nullopt, "",
                         "not a relocatable object (patch works on .o files)");
    ObjectFile obj = objIn;
    result.layout = planBlock(obj);
    auto merged = mergePerCpuSections(obj, result.layout, options);
    if (!merged)
        return merged.takeError();
    bool changed = *merged;
    if (options.indirect) {
        unsigned slots = 0;
        auto n = makeIndirect(obj, &slots);
        if (!n)
            return n.takeError();
        result.rewritten = *n;
        result.slots = slots;
        changed |= *n > 0;
    }
    result.changed = changed;
    if (!changed) {
        result.bytes.assign(original.begin(), original.end());
        return result;
    }
    auto bytes = writeRelocatable(obj);
    if (!bytes)
        return bytes.takeError();
    result.bytes = std::move(*bytes);
    return result;
}

} // namespace percpu::elfpatch
