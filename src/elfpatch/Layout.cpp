//===- Layout.cpp - canonical per-CPU block layout --------------------------===//
#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Layout.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <map>
#include <cstring>

using namespace llvm;
using namespace llvm::ELF;

namespace percpu::elfpatch {

const char *groupName(Group g)
{
    switch (g) {
    case Group::First: return "first";
    case Group::PageAligned: return "page_aligned";
    case Group::ReadMostly: return "read_mostly";
    case Group::Plain: return "plain";
    case Group::SharedAligned: return "shared_aligned";
    case Group::Unknown: return "unknown";
    }
    return "unknown";
}

uint64_t groupAlignment(Group g, uint64_t cacheline)
{
    switch (g) {
    case Group::PageAligned: return kPageSize;
    case Group::SharedAligned: return cacheline;
    default: return 0;
    }
}

std::optional<SectionClass> classifySection(StringRef name)
{
    static const struct {
        StringRef suffix;
        Group group;
    } kSuffixes[] = {{"first", Group::First},
                     {"page_aligned", Group::PageAligned},
                     {"read_mostly", Group::ReadMostly},
                     {"shared_aligned", Group::SharedAligned}};
    SectionClass c;
    if (name.consume_front(".data..percpu")) {
        if (name.empty())
            return c;
        c.group = Group::Unknown;
        if (name.consume_front(".."))
            for (auto &s : kSuffixes)
                if (name == s.suffix)
                    c.group = s.group;
        return c;
    }
    if (name.consume_front(".data.percpu")) {
        c.oldSpelling = true;
        if (name.empty())
            return c;
        if (!name.consume_front("."))
            return std::nullopt; // .data.percpu_x: an ordinary variable "percpu_x"
        c.group = Group::Unknown;
        for (auto &s : kSuffixes)
            if (name == s.suffix)
                c.group = s.group;
        return c;
    }
    return std::nullopt;
}

bool isPerCpuDataSection(const Section &s)
{
    return s.index && (s.type == SHT_PROGBITS || s.type == SHT_NOBITS) && classifySection(s.name);
}

std::optional<uint64_t> BlockLayout::offsetOf(uint32_t index) const
{
    for (const PlacedSection &p : sections)
        if (p.section == index)
            return p.offset;
    return std::nullopt;
}

bool isPerCpuSymbol(const ObjectFile &obj, const Symbol &sym)
{
    if (sym.isDefinedInSection())
        return sym.shndx < obj.sections.size() && isPerCpuDataSection(obj.sections[sym.shndx]);
    return sym.shndx == SHN_UNDEF && isDeclaredPerCpu(obj, sym.name);
}

bool isDeclaredPerCpu(const ObjectFile &obj, StringRef name)
{
    return startsWith(name, kLegacyPerCpuPrefix) || obj.perCpuDecls.count(name.str());
}

std::string otherPerCpuSpelling(StringRef name)
{
    return startsWith(name, kLegacyPerCpuPrefix) ? name.drop_front(kLegacyPerCpuPrefix.size()).str()
                                                 : (kLegacyPerCpuPrefix + name).str();
}

bool isNonVariableSymbolName(StringRef name)
{
    if (name.empty() || startsWith(name, ".L"))
        return true;
    if (name.size() >= 2 && name[0] == '$' &&
        (name[1] == 'd' || name[1] == 'x' || name[1] == 'a' || name[1] == 't'))
        return name.size() == 2 || name[2] == '.';
    return false;
}

namespace {

// An object file does not record a variable's alignment.  Infer it: no more
// than the largest power of two dividing its offset (capped by its section's
// alignment), and no more than its size rounded down to a power of two (the
// natural alignment of C scalars and of most aggregates).
uint64_t alignmentOf(uint64_t offset, uint64_t cap, uint64_t size)
{
    cap = std::max<uint64_t>(cap, 1);
    uint64_t a = offset ? (offset & (~offset + 1)) : cap;
    a = std::min(a, cap);
    uint64_t natural = size ? (uint64_t{1} << Log2_64(size)) : 1;
    return std::min(a, natural);
}

} // namespace

// Counts, in block order, the earlier symbols of each (name, input).
// The variables of `obj` that `place` puts in the block, sorted by offset:
// every symbol defined in a section that is a variable (not a section, file,
// assembler-local or mapping symbol) is offered; `place` sets the offset,
// alignment and group of those inside and returns false for the rest.  The
// name, index, section, size, binding and defining input are filled here.
static void placeSymbols(const ObjectFile &obj, BlockLayout &layout,
                         llvm::function_ref<bool(const Symbol &, PlacedSymbol &)> place)
{
    std::string input;
    for (uint32_t i = 1; i < obj.symbols.size(); ++i) {
        const Symbol &s = obj.symbols[i];
        if (s.type == STT_FILE)
            input = s.name;
        if (!s.isDefinedInSection() || s.type == STT_SECTION || s.type == STT_FILE ||
            isNonVariableSymbolName(s.name))
            continue;
        PlacedSymbol ps;
        if (!place(s, ps))
            continue;
        ps.name = s.name;
        ps.symbol = i;
        ps.section = s.shndx;
        ps.size = s.size;
        ps.global = s.binding != STB_LOCAL;
        if (!ps.global)
            ps.input = input;
        layout.symbols.push_back(std::move(ps));
    }
    std::stable_sort(layout.symbols.begin(), layout.symbols.end(),
                     [](const PlacedSymbol &a, const PlacedSymbol &b) { return a.offset < b.offset; });
}

static void numberOccurrences(BlockLayout &layout)
{
    std::map<std::pair<std::string, std::string>, unsigned> seen;
    for (PlacedSymbol &ps : layout.symbols)
        ps.occurrence = seen[{ps.name, ps.input}]++;
}

BlockLayout planBlock(const ObjectFile &obj)
{
    BlockLayout layout;
    std::vector<PlacedSection> byGroup[kGroupCount];
    for (const Section &s : obj.sections) {
        if (!isPerCpuDataSection(s))
            continue;
        auto cls = classifySection(s.name);
        PlacedSection p;
        p.section = s.index;
        p.group = cls->group;
        p.size = s.size;
        p.align = std::max<uint64_t>(1, s.addralign);
        // The fragment takes a group's current spelling before the 2006 one.
        auto &list = byGroup[static_cast<unsigned>(cls->group)];
        if (cls->oldSpelling)
            list.push_back(p);
        else
            list.insert(std::find_if(list.begin(), list.end(),
                                     [&](const PlacedSection &q) {
                                         return classifySection(obj.sections[q.section].name)->oldSpelling;
                                     }),
                        p);
    }
    uint64_t at = 0;
    for (unsigned g = 0; g < kGroupCount; ++g) {
        for (PlacedSection &p : byGroup[g]) {
            at = alignTo(at, p.align);
            p.offset = at;
            at += p.size;
            layout.align = std::max(layout.align, p.align);
            layout.sections.push_back(p);
        }
        if (g + 1 < kGroupCount)
            at = alignTo(at, kGroupStep);
    }
    if (layout.sections.empty())
        return layout;
    // The block starts on a cache line so that the group steps are real ones.
    layout.align = std::max(layout.align, kGroupStep);
    layout.size = at;
    // Trailing group steps after the last non-empty group add nothing useful.
    const PlacedSection &last = layout.sections.back();
    layout.size = last.offset + last.size;

    placeSymbols(obj, layout, [&](const Symbol &s, PlacedSymbol &ps) {
        auto off = layout.offsetOf(s.shndx);
        if (!off)
            return false;
        for (const PlacedSection &p : layout.sections)
            if (p.section == s.shndx)
                ps.group = p.group;
        ps.offset = *off + s.value;
        uint64_t groupAlign = groupAlignment(ps.group, kGroupStep);
        ps.align = groupAlign ? groupAlign
                              : alignmentOf(s.value, obj.sections[s.shndx].addralign, s.size);
        return true;
    });

    // A patched object: one merged section and the record patch wrote.
    // Variables keep the group and alignment they had before the merge.
    const Section *note = obj.sectionByName(kLayoutNote);
    if (note && layout.sections.size() == 1 && obj.sections[layout.sections[0].section].name == kMergedSection) {
        if (auto recorded = decodeLayoutNote(note->data)) {
            for (PlacedSymbol &ps : layout.symbols)
                for (const NoteSymbol &n : *recorded)
                    if (n.group && n.name == ps.name && n.offset == ps.offset && n.size == ps.size) {
                        ps.group = *n.group;
                        if (uint64_t a = groupAlignment(ps.group, kGroupStep))
                            ps.align = a;
                        if (n.align)
                            ps.align = *n.align;
                        break;
                    }
        }
    }
    numberOccurrences(layout);
    return layout;
}

std::optional<std::vector<NoteSymbol>> decodeLayoutNote(ArrayRef<uint8_t> note)
{
    size_t at = 0;
    auto get = [&](auto &v) { // the next little-endian field, if it is there
        if (note.size() - at < sizeof(v))
            return false;
        std::memcpy(&v, note.data() + at, sizeof(v));
        at += sizeof(v);
        return true;
    };
    auto align4 = [&] { at = std::min<size_t>(alignTo(at, 4), note.size()); };
    uint32_t namesz, descsz, type, version, count;
    if (!get(namesz) || !get(descsz) || !get(type) || type != 1 || namesz != 7 ||
        note.size() - at < 7 || std::memcmp(note.data() + at, "percpu", 7) != 0)
        return std::nullopt;
    at += 7;
    align4();
    if (note.size() - at < descsz)
        return std::nullopt;
    uint64_t blockSize, blockAlign;
    if (!get(version) || version < 1 || version > 3 || !get(count) || !get(blockSize) ||
        !get(blockAlign))
        return std::nullopt;
    std::vector<NoteSymbol> out;
    for (uint32_t i = 0; i < count; ++i) {
        NoteSymbol s;
        uint32_t group = 0, len = 0;
        uint64_t align = 0;
        if (!get(s.offset) || !get(s.size) || (version >= 2 && !get(group)) ||
            (version >= 3 && !get(align)) || !get(len) || note.size() - at < len)
            return std::nullopt;
        if (version >= 3) {
            if (!align || (align & (align - 1)))
                return std::nullopt;
            s.align = align;
        }
        if (version >= 2) {
            if (group >= kGroupCount)
                return std::nullopt;
            s.group = static_cast<Group>(group);
        }
        s.name.assign(reinterpret_cast<const char *>(note.data() + at), len);
        at += len;
        align4();
        out.push_back(std::move(s));
    }
    return out;
}

BlockBounds blockBounds(const ObjectFile &obj)
{
    BlockBounds b;
    for (const Symbol &s : obj.symbols) {
        if (s.name == "__per_cpu_start")
            b.start = &s;
        else if (s.name == "__per_cpu_end")
            b.end = &s;
        else if (s.name == "__per_cpu_page_end")
            b.pageEnd = &s;
    }
    return b;
}

BlockLayout linkedBlock(const ObjectFile &obj, bool &found)
{
    BlockLayout layout;
    const auto [start, end, pageEnd] = blockBounds(obj);
    (void)pageEnd;
    found = start && end;
    if (!found || end->value < start->value)
        return layout;
    layout.size = end->value - start->value;
    // The block's alignment: its output sections' (each the largest of its
    // inputs', as the runtime reads it for a shared object's block through
    // the fragment's ALIGNOF).
    for (const Section &sec : obj.sections)
        if ((sec.flags & SHF_ALLOC) && sec.size && sec.addr < end->value &&
            sec.addr + sec.size > start->value && sec.addralign > layout.align &&
            !(sec.addralign & (sec.addralign - 1)))
            layout.align = sec.addralign;
    placeSymbols(obj, layout, [&](const Symbol &s, PlacedSymbol &ps) {
        // Labels (STT_NOTYPE) of a linked program are not variables.
        if (s.type == STT_NOTYPE || s.value < start->value || s.value >= end->value)
            return false;
        ps.offset = s.value - start->value;
        ps.align = alignmentOf(s.value, kPageSize, s.size);
        return true;
    });
    numberOccurrences(layout);
    return layout;
}

std::vector<uint8_t> encodeLayoutNote(const BlockLayout &layout)
{
    std::vector<uint8_t> desc;
    auto put = [&](const void *p, size_t n) {
        const auto *b = static_cast<const uint8_t *>(p);
        desc.insert(desc.end(), b, b + n);
    };
    auto pad4 = [&](std::vector<uint8_t> &v) {
        while (v.size() % 4)
            v.push_back(0);
    };
    uint32_t version = 3, count = static_cast<uint32_t>(layout.symbols.size());
    put(&version, 4);
    put(&count, 4);
    put(&layout.size, 8);
    put(&layout.align, 8);
    for (const PlacedSymbol &s : layout.symbols) {
        put(&s.offset, 8);
        put(&s.size, 8);
        uint32_t group = static_cast<uint32_t>(s.group);
        put(&group, 4);
        put(&s.align, 8);
        uint32_t len = static_cast<uint32_t>(s.name.size());
        put(&len, 4);
        put(s.name.data(), s.name.size());
        pad4(desc);
    }
    // Note header: namesz, descsz, type, name "percpu\0" padded to 4.
    std::vector<uint8_t> note;
    const char owner[] = "percpu";
    uint32_t namesz = sizeof(owner), descsz = static_cast<uint32_t>(desc.size()), type = 1;
    note.insert(note.end(), reinterpret_cast<uint8_t *>(&namesz), reinterpret_cast<uint8_t *>(&namesz) + 4);
    note.insert(note.end(), reinterpret_cast<uint8_t *>(&descsz), reinterpret_cast<uint8_t *>(&descsz) + 4);
    note.insert(note.end(), reinterpret_cast<uint8_t *>(&type), reinterpret_cast<uint8_t *>(&type) + 4);
    note.insert(note.end(), owner, owner + sizeof(owner));
    pad4(note);
    note.insert(note.end(), desc.begin(), desc.end());
    pad4(note);
    return note;
}

} // namespace percpu::elfpatch
