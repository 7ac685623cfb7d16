//===- Check.cpp - per-CPU layout rules -------------------------------------===//
#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Check.h"
#include "percpu/elfpatch/Layout.h"
#include "percpu/elfpatch/Target.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Object/ELFTypes.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

using namespace llvm;
using namespace llvm::ELF;

namespace percpu::elfpatch {

std::optional<Growth> parseGrowth(const std::string &text)
{
    Growth g;
    StringRef s(text);
    if (s.consume_back("%"))
        g.percent = true;
    if (s.empty() || s.getAsInteger(0, g.value))
        return std::nullopt;
    return g;
}

Diagnostic diagnostic(Rule rule, const ObjectFile &f, std::string section, std::optional<uint64_t> offset,
                      std::string symbol, std::string message)
{
    Diagnostic d;
    d.rule = rule;
    d.file = f.path;
    d.section = std::move(section);
    d.offset = offset;
    d.symbol = std::move(symbol);
    d.message = std::move(message);
    return d;
}

namespace {

Diagnostic diagnosticAt(Rule rule, const ObjectFile &f, std::string section, uint64_t offset,
                        std::string symbol, std::string message, Severity severity)
{
    Diagnostic d = diagnostic(rule, f, std::move(section), offset, std::move(symbol), std::move(message));
    d.severity = severity;
    return d;
}

class Checker {
public:
    Checker(const std::vector<ObjectFile> &files, const CheckOptions &opts)
        : files_(files), opts_(opts) {}
    std::vector<Diagnostic> run();

private:
    // Every diagnostic of check goes through here: a disabled rule stops.
    void report(Diagnostic d)
    {
        if (!opts_.disabled.contains(d.rule))
            out_.push_back(std::move(d));
    }
    void report(Rule rule, const ObjectFile &f, std::string section, std::optional<uint64_t> offset,
                std::string symbol, std::string message)
    {
        if (!opts_.disabled.contains(rule))
            report(diagnostic(rule, f, std::move(section), offset, std::move(symbol), std::move(message)));
    }
    // A diagnostic about a whole file, by name.
    void report(Rule rule, std::string file, std::string message, Severity severity = Severity::Error)
    {
        Diagnostic d;
        d.rule = rule;
        d.severity = severity;
        d.file = std::move(file);
        d.message = std::move(message);
        report(std::move(d));
    }
    void sectionRules(const ObjectFile &f)
    {
        for (const Section &s : f.sections) {
            unknownSectionRule(f, s, [&](Diagnostic d) { report(std::move(d)); });
            sectionFlagsRule(f, s, [&](Diagnostic d) { report(std::move(d)); });
        }
    }
    void symbolRules(const ObjectFile &f, const BlockLayout &layout);
    void directAccess(const ObjectFile &f);
    void unsupportedRelocations(const ObjectFile &f);
    void exportRecords(const ObjectFile &f);
    void hostLayout(const ObjectFile &f);
    void sharedObject(const ObjectFile &f);
    void kindMismatch();
    void kernelReferences(
        const ObjectFile &f,
        const std::function<std::optional<std::pair<bool, std::string>>(const std::string &)> &definition);
    void blockBudget();
    void layoutDrift();

    const std::vector<ObjectFile> &files_;
    const CheckOptions &opts_;
    std::vector<Diagnostic> out_;
    std::vector<BlockLayout> layouts_;
    // Undefined symbols that kernel modules reference from code, not checked
    // for per-CPU use because no --kernel-symbols was given.
    std::set<std::string> uncoveredKernelRefs_;
};

std::string hexs(uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

} // namespace

void unknownSectionRule(const ObjectFile &f, const Section &s, DiagnosticSink emit)
{
    auto cls = s.index ? classifySection(s.name) : std::nullopt;
    if (cls && cls->group == Group::Unknown)
        emit(diagnostic(Rule::UnknownSection, f, s.name, std::nullopt, "",
                        "per-CPU section '" + s.name +
                            "' has no canonical suffix (expected ..first, ..page_aligned, "
                            "..read_mostly, ..shared_aligned or none); percpu.ld and the loader "
                            "do not place it"));
}

void sectionFlagsRule(const ObjectFile &f, const Section &s, DiagnosticSink emit)
{
    if (!s.index || !classifySection(s.name))
        return;
    bool alloc = s.flags & SHF_ALLOC, write = s.flags & SHF_WRITE, exec = s.flags & SHF_EXECINSTR;
    bool typeOk = s.type == SHT_PROGBITS || s.type == SHT_NOBITS;
    if (alloc && write && !exec && typeOk)
        return;
    std::string what;
    if (!alloc)
        what += " not allocated (SHF_ALLOC missing);";
    if (!write)
        what += " not writable (SHF_WRITE missing);";
    if (exec)
        what += " executable (SHF_EXECINSTR set);";
    if (!typeOk)
        what += " type " + std::to_string(s.type) + " is not SHT_PROGBITS or SHT_NOBITS;";
    what.pop_back();
    emit(diagnostic(Rule::SectionFlags, f, s.name, std::nullopt, "",
                    "per-CPU section '" + s.name + "' must be allocated, writable data:" + what));
}

namespace {

void Checker::symbolRules(const ObjectFile &f, const BlockLayout &layout)
{
    for (const PlacedSymbol &ps : layout.symbols) {
        const Symbol &sym = f.symbols[ps.symbol];
        StringRef name(ps.name);
        std::string secName = f.isRelocatable() ? f.sectionLabel(ps.section) : f.sectionLabel(sym.shndx);
        uint64_t inSection = f.isRelocatable() ? sym.value : ps.offset;
        // Assembler-local and mapping symbols are not variables.
        if (isNonVariableSymbolName(name))
            continue;
        // Every symbol in a .data..percpu* section is a per-CPU variable: no
        // C identifier can make a compiler put an ordinary one there.  The
        // 2006 spelling is different: -fdata-sections puts a global named
        // `percpu` in .data.percpu, and that convention named every per-CPU
        // variable per_cpu__NAME, so an unprefixed symbol there is ordinary.
        uint32_t secIndex = f.isRelocatable() ? ps.section : sym.shndx;
        auto cls = secIndex < f.sections.size() ? classifySection(f.sections[secIndex].name)
                                                : std::nullopt;
        if (cls && cls->oldSpelling && sym.type != STT_SECTION &&
            !startsWith(name, kLegacyPerCpuPrefix)) {
            report(Rule::SectionCollision, f, secName, inSection, ps.name,
                   "ordinary symbol '" + ps.name + "' lies inside per-CPU section '" + secName +
                       "' (the 2006 spelling, whose per-CPU variables are named per_cpu__NAME): "
                       "it would be copied per CPU and read through the template (a global "
                       "named like the section, compiled with -fdata-sections?)");
            continue;
        }
        if (!f.isRelocatable())
            continue;
        uint64_t want = groupAlignment(ps.group, opts_.cacheline);
        if (!want)
            continue;
        uint64_t secAlign = std::max<uint64_t>(1, f.sections[ps.section].addralign);
        if (sym.value % want || secAlign < want)
            report(Rule::Misaligned, f, secName, sym.value, ps.name,
                   "'" + ps.name + "' in " + groupName(ps.group) + " data is at " + hexs(sym.value) +
                       " in a section aligned to " + std::to_string(secAlign) + ": expected a multiple of " +
                       std::to_string(want) + (ps.group == Group::PageAligned ? " (a page)" : " (a cache line)"));
    }
}

void Checker::directAccess(const ObjectFile &f)
{
    const Target *target = f.target;
    if (!target)
        return;
    const bool kernel = usesKernelModel(f, opts_.abi);
    const KernelSymbols *ks = opts_.kernelSymbols ? &*opts_.kernelSymbols : nullptr;
    for (const auto &[rela, list] : f.relocs) {
        const Section &sec = f.sections[f.relocTarget(rela)];
        if (!(sec.flags & SHF_EXECINSTR))
            continue;
        for (const Reloc &r : list) {
            if (!r.symbol)
                continue;
            const Symbol &sym = f.symbols[r.symbol];
            // vmlinux's per-CPU variables are undefined in a module: only
            // --kernel-symbols tells them.
            bool vmlinuxPerCpu = kernel && ks && sym.shndx == SHN_UNDEF && ks->perCpu.count(sym.name);
            if (kernel && !ks && sym.shndx == SHN_UNDEF && !sym.name.empty() &&
                target->relExpr(r.type) != RelExpr::PLT)
                uncoveredKernelRefs_.insert(sym.name);
            if (!vmlinuxPerCpu && !isPerCpuSymbol(f, sym))
                continue;
            Access a = target->classifyAccess(sec, r, list, [&](uint32_t i) -> StringRef {
                return i < f.symbols.size() ? StringRef(f.symbols[i].name) : StringRef();
            });
            // In a kernel module %gs:var is the per-CPU access itself; in
            // user space a segment does not make it one.
            if (a.kind != AccessKind::Memory && !(a.kind == AccessKind::SegmentMemory && !kernel))
                continue;
            // A section symbol (an anchor) names the variable at its offset
            // where the addend is that offset (no PC bias, as x86's -4).
            const bool unbiased = f.machine == EM_AARCH64 || target->relExpr(r.type) == RelExpr::Absolute;
            std::string name = sym.type != STT_SECTION ? sym.name
                               : unbiased ? f.referencedName(r.symbol, static_cast<int64_t>(
                                                                           static_cast<uint64_t>(r.addend) +
                                                                           static_cast<uint64_t>(a.addedOffset)))
                                          : f.sectionLabel(sym.shndx);
            a.text = target->symbolizedText(a, r, sym.type == STT_SECTION ? f.sectionLabel(sym.shndx) : name);
            std::string what = vmlinuxPerCpu ? "vmlinux's per-CPU '" + name + "'" : "per-CPU '" + name + "'";
            Diagnostic d;
            if (kernel)
                d = diagnostic(Rule::DirectAccess, f, sec.name, r.offset, name,
                       "'" + a.text + "' reads or writes " + what + " at its canonical address, with no "
                       "segment or base register (" + target->relocName(r.type).str() +
                       "): in a kernel module that is the template in .data..percpu, not a CPU's copy; "
                       "use this_cpu_read()/this_cpu_write() (a %gs- or tpidr_el1-relative access) or "
                       "per_cpu_ptr()");
            else
                d = diagnostic(Rule::DirectAccess, f, sec.name, r.offset, name,
                       "'" + a.text + "' reads or writes the canonical address of " + what + " (" +
                           target->relocName(r.type).str() +
                           "): that is the template, not a CPU's copy; take its address for "
                           "per_cpu_ptr()/this_cpu_*() instead");
            d.sourceOffset = a.useOffset;
            report(std::move(d));
        }
    }
}

void Checker::hostLayout(const ObjectFile &f)
{
    bool found = false;
    BlockLayout block = linkedBlock(f, found);
    const auto [start, end, pageEnd] = blockBounds(f);
    // Per-CPU output sections, in address order.
    std::vector<const Section *> pcpu;
    for (const Section &s : f.sections)
        if (s.index && (s.flags & SHF_ALLOC) && classifySection(s.name))
            pcpu.push_back(&s);
    bool hasPerCpu = !pcpu.empty();
    for (const Symbol &s : f.symbols)
        hasPerCpu |= s.isDefinedInSection() && startsWith(s.name, kLegacyPerCpuPrefix);
    if (!hasPerCpu && !found)
        return; // not a per-CPU host
    if (!f.symtabIndex) {
        // Stripped: the bounds are gone with the symbol table, not missing
        // from the link.  The runtime finds them through its own references.
        report(Rule::HostLayout, f.path,
               "linked program has per-CPU sections but no symbol table (stripped): the block's "
               "bounds (__per_cpu_start, __per_cpu_end) cannot be checked; check the file before "
               "stripping",
               Severity::Note);
        return;
    }
    if (!start || !end) {
        report(Rule::HostLayout, f, "", std::nullopt, start ? "__per_cpu_end" : "__per_cpu_start",
               std::string("linked program has per-CPU data but no ") +
                   (start ? "__per_cpu_end" : "__per_cpu_start") +
                   " symbol: link it with percpu.ld (percpu_add_host() in CMake)");
        return;
    }
    if (end->value < start->value) {
        report(Rule::HostLayout, f, "", start->value, "__per_cpu_start",
               "__per_cpu_end (" + hexs(end->value) + ") is below __per_cpu_start (" +
                   hexs(start->value) + ")");
        return;
    }
    std::sort(pcpu.begin(), pcpu.end(), [](const Section *a, const Section *b) { return a->addr < b->addr; });
    // The fragment pads the output section to a page (__per_cpu_page_end)
    // so that the runtime can make the template's pages inaccessible.
    const bool padded = pageEnd && pageEnd->value >= end->value;
    const uint64_t sectionEnd = padded ? pageEnd->value : end->value;
    const char *endName = padded ? "__per_cpu_page_end" : "__per_cpu_end";
    int lastGroup = -1;
    for (const Section *s : pcpu) {
        uint64_t sEnd = s->addr + s->size;
        if (s->addr < start->value || sEnd > sectionEnd)
            report(Rule::HostLayout, f, s->name, std::nullopt, "",
                   "per-CPU section '" + s->name + "' [" + hexs(s->addr) + ", " + hexs(sEnd) +
                       ") is not inside __per_cpu_start.." + endName + " [" + hexs(start->value) +
                       ", " + hexs(sectionEnd) + ")");
        int g = static_cast<int>(classifySection(s->name)->group);
        if (s->name != kMergedSection && g < lastGroup)
            report(Rule::HostLayout, f, s->name, std::nullopt, "",
                   "per-CPU section '" + s->name + "' comes after a section of a later group "
                   "(canonical order: first, page_aligned, read_mostly, plain, shared_aligned)");
        lastGroup = std::max(lastGroup, g);
    }
    for (uint32_t i = 1; i < f.symbols.size(); ++i) {
        const Symbol &s = f.symbols[i];
        // Only the legacy spelling tells a per-CPU variable by its name alone.
        if (!s.isDefinedInSection() || !startsWith(s.name, kLegacyPerCpuPrefix))
            continue;
        if (s.value < start->value || s.value + std::max<uint64_t>(s.size, 1) > end->value)
            report(Rule::HostLayout, f, f.sectionLabel(s.shndx), s.value, s.name,
                   "per-CPU variable '" + s.name + "' at " + hexs(s.value) +
                       " is outside __per_cpu_start..__per_cpu_end");
    }
    (void)block;
}

void Checker::kindMismatch()
{
    struct Def {
        const ObjectFile *file;
        const Symbol *sym;
        bool perCpu;
    };
    std::map<std::string, Def> defs;
    for (const ObjectFile &f : files_) {
        // A linked program's sections are merged: a per-CPU definition is one
        // inside __per_cpu_start..__per_cpu_end (host-layout checks the rest).
        std::optional<uint64_t> start, end;
        if (!f.isRelocatable()) {
            const BlockBounds b = blockBounds(f);
            if (b.start)
                start = b.start->value;
            if (b.end)
                end = b.end->value;
        }
        for (const Symbol &s : f.symbols) {
            if (s.binding == STB_LOCAL || !(s.isDefinedInSection() || s.shndx == kShnCommon) ||
                s.name.empty() || s.type == STT_SECTION)
                continue;
            bool perCpu = s.isDefinedInSection() && isPerCpuDataSection(f.sections[s.shndx]);
            if (!f.isRelocatable()) {
                perCpu |= startsWith(s.name, kLegacyPerCpuPrefix) ||
                          (start && end && s.value >= *start && s.value < *end);
                defs.emplace(s.name, Def{&f, &s, perCpu});
                continue;
            }
            defs.emplace(s.name, Def{&f, &s, perCpu});
            if (startsWith(s.name, kLegacyPerCpuPrefix) && !perCpu)
                report(Rule::KindMismatch, f, s.shndx == kShnCommon ? "COMMON" : f.sectionLabel(s.shndx),
                       s.value, s.name,
                       "'" + s.name + "' is named like a per-CPU variable but defined in " +
                           (s.shndx == kShnCommon ? std::string("COMMON")
                                                  : "'" + f.sectionLabel(s.shndx) + "'") +
                           ", not in a per-CPU section");
        }
    }
    for (const ObjectFile &f : files_) {
        if (!f.isRelocatable())
            continue;
        if (usesKernelModel(f, opts_.abi)) {
            kernelReferences(f, [&](const std::string &name) -> std::optional<std::pair<bool, std::string>> {
                auto it = defs.find(name);
                if (it == defs.end())
                    return std::nullopt;
                return std::make_pair(it->second.perCpu, it->second.file->path + ":(" +
                                                             it->second.file->sectionLabel(it->second.sym->shndx) + ")");
            });
            continue;
        }
        for (const Symbol &s : f.symbols) {
            if (s.shndx != SHN_UNDEF || s.name.empty())
                continue;
            const bool wantPerCpu = isDeclaredPerCpu(f, s.name);
            auto it = defs.find(s.name);
            // A per-CPU reference also binds across the two spellings, as
            // the loader resolves it (an object of the 2006 convention
            // against a current one, or the reverse).
            if (it == defs.end() && wantPerCpu) {
                it = defs.find(otherPerCpuSpelling(s.name));
                if (it != defs.end() && !it->second.perCpu)
                    it = defs.end();
            }
            if (it == defs.end())
                continue;
            const Def &d = it->second;
            std::string where = d.file->path + ":(" + d.file->sectionLabel(d.sym->shndx) + ")";
            if (wantPerCpu && !d.perCpu)
                report(Rule::KindMismatch, f, "", std::nullopt, s.name,
                       "per-CPU reference '" + s.name + "' (declared with DECLARE_PER_CPU) would bind to "
                       "ordinary data defined at " + where);
            else if (!wantPerCpu && d.perCpu)
                report(Rule::KindMismatch, f, "", std::nullopt, s.name,
                       "ordinary reference '" + s.name + "' would bind to per-CPU data defined at " +
                           where + " (declare it with DECLARE_PER_CPU)");
        }
    }
}

// Kernel modules declare nothing: what a reference wants shows in its use.
// A load or store with no segment or base register treats the symbol as
// ordinary data, a %gs-relative access treats it as per-CPU data; an
// address computation (mov $var / lea, then a per-CPU offset) is either.
// `definition(name)` says whether another input defines `name` and whether
// per-CPU; vmlinux's symbols come from --kernel-symbols (direct accesses to
// its per-CPU variables are direct-access's).
void Checker::kernelReferences(
    const ObjectFile &f,
    const std::function<std::optional<std::pair<bool, std::string>>(const std::string &)> &definition)
{
    const Target *target = f.target;
    if (!target)
        return;
    const KernelSymbols *ks = opts_.kernelSymbols ? &*opts_.kernelSymbols : nullptr;
    std::set<uint32_t> reported;
    for (const auto &[rela, list] : f.relocs) {
        const Section &sec = f.sections[f.relocTarget(rela)];
        if (!(sec.flags & SHF_EXECINSTR))
            continue;
        for (const Reloc &r : list) {
            const Symbol &sym = f.symbols[r.symbol];
            if (!r.symbol || sym.shndx != SHN_UNDEF || sym.name.empty() || reported.count(r.symbol))
                continue;
            std::optional<std::pair<bool, std::string>> def = definition(sym.name);
            if (!def && ks && ks->ordinary.count(sym.name))
                def = std::make_pair(false, std::string("vmlinux (per --kernel-symbols)"));
            if (!def)
                continue;
            Access a = target->classifyAccess(sec, r, list);
            a.text = target->symbolizedText(a, r, sym.name);
            if (def->first && a.kind == AccessKind::Memory) {
                reported.insert(r.symbol);
                report(Rule::KindMismatch, f, sec.name, r.offset, sym.name,
                       "'" + a.text + "' reads or writes '" + sym.name + "' as ordinary data (no segment "
                       "or base register), but it is per-CPU data defined at " + def->second +
                       ": use this_cpu_read()/this_cpu_write() or per_cpu_ptr()");
            } else if (!def->first && a.kind == AccessKind::SegmentMemory) {
                reported.insert(r.symbol);
                report(Rule::KindMismatch, f, sec.name, r.offset, sym.name,
                       "'" + a.text + "' is a per-CPU (segment-relative) access to '" + sym.name +
                           "', but it is ordinary data defined at " + def->second);
            }
        }
    }
}

// The budget of one object: --max-block, else the module reserve for a
// kernel module, else none.  A kernel module's block counts as the kernel
// allocates it (sh_size at sh_addralign); the blocks of several modules
// share the reserve, so their sum is checked too.
void Checker::blockBudget()
{
    uint64_t total = 0;
    bool allKernel = true;
    std::vector<std::pair<uint64_t, std::string>> contributors;
    for (size_t i = 0; i < files_.size(); ++i) {
        const ObjectFile &f = files_[i];
        if (!f.isRelocatable())
            continue;
        const BlockLayout &b = layouts_[i];
        const bool kernel = usesKernelModel(f, opts_.abi);
        allKernel &= kernel;
        uint64_t size = b.size, align = 1;
        if (kernel) {
            KernelAllocation ka = kernelAllocation(f, b);
            size = ka.size;
            align = ka.align;
        }
        if (size) {
            total = alignTo(total, align) + size;
            contributors.emplace_back(size, f.path);
        }
        std::optional<uint64_t> budget = opts_.maxBlock;
        if (!budget && kernel)
            budget = kKernelModuleReserve;
        if (!budget || size <= *budget)
            continue;
        std::vector<const PlacedSymbol *> vars;
        for (const PlacedSymbol &s : b.symbols)
            vars.push_back(&s);
        std::sort(vars.begin(), vars.end(),
                  [](const PlacedSymbol *a, const PlacedSymbol *b) { return a->size > b->size; });
        std::string biggest;
        for (size_t k = 0; k < vars.size() && k < 3; ++k)
            biggest += (k ? ", " : "") + vars[k]->name + " (" + std::to_string(vars[k]->size) + " bytes)";
        std::string limit = opts_.maxBlock ? "the budget of " + std::to_string(*budget)
                                           : "the kernel's module reserve of " + std::to_string(*budget) +
                                                 " bytes (PERCPU_MODULE_RESERVE): loading it fails with "
                                                 "\"Could not allocate " + std::to_string(size) +
                                                 " bytes percpu data\"";
        report(Rule::BlockBudget, f, kMergedSection.str(), std::nullopt, vars.empty() ? "" : vars[0]->name,
               "per-CPU block is " + std::to_string(size) + " bytes" +
                   (kernel ? " (sh_size at sh_addralign " + std::to_string(align) + ")" : "") + ", over " +
                   limit + (biggest.empty() ? "" : "; biggest: " + biggest));
    }
    std::optional<uint64_t> setBudget = opts_.maxBlock;
    if (!setBudget && allKernel)
        setBudget = kKernelModuleReserve;
    size_t modules = contributors.size();
    if (setBudget && modules > 1 && total > *setBudget) {
        std::sort(contributors.rbegin(), contributors.rend());
        std::string biggest;
        for (size_t k = 0; k < contributors.size() && k < 3; ++k)
            biggest += (k ? ", " : "") + contributors[k].second + " (" +
                       std::to_string(contributors[k].first) + " bytes)";
        report(Rule::BlockBudget, contributors[0].second,
               "per-CPU blocks of the " + std::to_string(modules) + " modules add up to " +
                   std::to_string(total) + " bytes, over " +
                   (opts_.maxBlock ? "the budget of " + std::to_string(*setBudget)
                                   : "the " + std::to_string(*setBudget) +
                                         "-byte module reserve they share (PERCPU_MODULE_RESERVE): "
                                         "loaded together, the one that crosses it fails with "
                                         "\"Could not allocate N bytes percpu data\"") +
                   "; biggest: " + biggest);
    }
}

void Checker::layoutDrift()
{
    if (!opts_.baseline)
        return;
    const Baseline &base = *opts_.baseline;
    const ObjectFile *match = nullptr;
    size_t idx = 0;
    for (size_t i = 0; i < files_.size(); ++i) {
        if (files_.size() == 1 || files_[i].path == base.file ||
            sys::path::filename(files_[i].path) == sys::path::filename(base.file)) {
            match = &files_[i];
            idx = i;
            break;
        }
    }
    if (!match) {
        report(Rule::LayoutDrift, base.file,
               "the baseline describes '" + base.file + "', which is not among the inputs");
        return;
    }
    const BlockLayout &now = layouts_[idx];
    // Keyed by (name, defining input, occurrence): two `static` variables
    // of one name from different inputs of an `ld -r` object, or two symbols
    // of one name in one input, are different variables.
    using Key = std::tuple<std::string, std::string, unsigned>;
    std::map<Key, const PlacedSymbol *> byName;
    for (const PlacedSymbol &s : now.symbols)
        byName.emplace(Key{s.name, s.input, s.occurrence}, &s);
    // What changed, said in the order a reader untangles it: what was added
    // (often the cause of the rest), what is gone, what grew or shrank or
    // changed section, what only moved.  A variable added where it moves
    // nothing (appended) is no drift: the new ones are named, as notes, only
    // when something else changed.
    std::set<Key> inBaseline;
    for (const Baseline::Var &v : base.vars)
        inBaseline.insert(Key{v.name, v.input, v.occurrence});
    std::vector<Diagnostic> added, gone, resized, moved;
    for (const PlacedSymbol &s : now.symbols)
        if (!inBaseline.count(Key{s.name, s.input, s.occurrence})) {
            std::string section = match->isRelocatable() ? groupName(s.group) : match->sectionLabel(s.section);
            added.push_back(diagnosticAt(Rule::LayoutDrift, *match, section, s.offset, s.name,
                                         "per-CPU variable '" + s.name + "' is new: " + std::to_string(s.size) +
                                             " bytes at " + hexs(s.offset) + ", not in the baseline",
                                         Severity::Note));
        }
    for (const Baseline::Var &v : base.vars) {
        auto it = byName.find(Key{v.name, v.input, v.occurrence});
        if (it == byName.end()) {
            gone.push_back(diagnostic(Rule::LayoutDrift, *match, v.section, v.offset, v.name,
                                      "per-CPU variable '" + v.name + "' of the baseline is gone"));
            continue;
        }
        const PlacedSymbol &s = *it->second;
        std::string section = match->isRelocatable() ? groupName(s.group) : match->sectionLabel(s.section);
        std::string changes;
        if (s.offset != v.offset)
            changes += " offset " + hexs(v.offset) + " -> " + hexs(s.offset) + ";";
        if (s.size != v.size)
            changes += " size " + std::to_string(v.size) + " -> " + std::to_string(s.size) + ";";
        if (!v.section.empty() && section != v.section)
            changes += " section " + v.section + " -> " + section + ";";
        if (!changes.empty()) {
            changes.pop_back();
            const bool onlyMoved = s.size == v.size && (v.section.empty() || section == v.section);
            (onlyMoved ? moved : resized)
                .push_back(diagnostic(Rule::LayoutDrift, *match, section, s.offset, v.name,
                                      "per-CPU variable '" + v.name + "' changed against the baseline:" + changes));
        }
    }
    if (gone.empty() && resized.empty() && moved.empty())
        added.clear();
    for (std::vector<Diagnostic> *group : {&added, &gone, &resized, &moved})
        for (Diagnostic &d : *group)
            report(std::move(d));
    if (opts_.maxGrowth && now.size > base.blockSize) {
        uint64_t grew = now.size - base.blockSize;
        uint64_t limit = opts_.maxGrowth->percent ? base.blockSize * opts_.maxGrowth->value / 100
                                                  : opts_.maxGrowth->value;
        if (grew > limit)
            report(Rule::LayoutDrift, *match, "", std::nullopt, "",
                   "per-CPU block grew by " + std::to_string(grew) + " bytes (" +
                       std::to_string(base.blockSize) + " -> " + std::to_string(now.size) +
                       "), more than --max-growth " + std::to_string(opts_.maxGrowth->value) +
                       (opts_.maxGrowth->percent ? "%" : " bytes"));
    }
}

// unsupported-relocation: what the module loader would refuse at load time,
// reported by check on the same object with the loader's own message
// (Target::unsupportedRelocation): a relocation type its engine does not
// apply, in a section that is loaded.  Once per type and section, at the
// first place.  Kernel modules are the kernel's to load: not checked.
void Checker::unsupportedRelocations(const ObjectFile &f)
{
    const Target *target = f.target;
    if (!target || usesKernelModel(f, opts_.abi))
        return;
    for (const auto &[rela, list] : f.relocs) {
        const Section &sec = f.sections[f.relocTarget(rela)];
        if (!(sec.flags & SHF_ALLOC))
            continue; // debug information is not loaded
        std::set<uint32_t> seen;
        for (const Reloc &r : list) {
            const RelExpr e = target->relExpr(r.type);
            if ((e != RelExpr::Unknown && e != RelExpr::TLS) || seen.count(r.type))
                continue;
            const Symbol &sym = f.symbols[r.symbol];
            auto where = [&] {
                const bool exact = target->tlsReloc(r.type).expr == RelExpr::Absolute;
                return diagnostic(Rule::UnsupportedRelocation, f, sec.name, r.offset,
                                  f.referencedName(r.symbol, exact ? r.addend : 0), "");
            };
            // TLS: what the loader refuses of it (initial and local exec of
            // the module's own thread-local data, the unsupported forms).
            Error err = e == RelExpr::TLS
                            ? target->tlsModelAllowed(r.type, sym.shndx != llvm::ELF::SHN_UNDEF, where)
                            : target->unsupportedRelocation(r.type, where);
            if (!err)
                continue;
            seen.insert(r.type);
            for (Diagnostic &d : takeDiagnostics(std::move(err), Rule::UnsupportedRelocation, f.path))
                report(std::move(d));
        }
    }
}

// malformed export records: what the loader's registration refuses
// (loader/passes/Register.cpp), with its messages.  A record is
// {const char *name; const void *addr; uint32_t kind; uint32_t gpl_only}
// (<percpu/percpu.h>): its name and address must be relocated against this
// object's sections (the name a NUL-terminated string), its kind plain (0)
// or per-CPU (1), per-CPU exactly when the address is per-CPU data.
void Checker::exportRecords(const ObjectFile &f)
{
    constexpr uint64_t kRecord = 24;
    constexpr uint32_t kPerCpuKind = 1;
    const Section *sec = f.sectionByName("percpu_exports");
    if (!sec || !(sec->flags & SHF_ALLOC) || usesKernelModel(f, opts_.abi))
        return;
    if (sec->size % kRecord) {
        report(diagnostic(Rule::Malformed, f, sec->name, std::nullopt, "",
                          "export table of " + std::to_string(sec->size) +
                              " bytes is not an array of export records"));
        return;
    }
    std::map<uint64_t, const Reloc *> at;
    for (const auto &[rela, list] : f.relocs)
        if (f.relocTarget(rela) == sec->index)
            for (const Reloc &r : list)
                at[r.offset] = &r;
    auto bytesZero = [&](uint64_t off, uint64_t n) {
        for (uint64_t k = off; k < off + n && k < sec->data.size(); ++k)
            if (sec->data[k])
                return false;
        return true;
    };
    auto inSection = [&](const Reloc *r) -> const Section * {
        if (!r || r->symbol >= f.symbols.size())
            return nullptr;
        const Symbol &sym = f.symbols[r->symbol];
        return sym.isDefinedInSection() && sym.shndx < f.sections.size() ? &f.sections[sym.shndx] : nullptr;
    };
    for (uint64_t i = 0; i < sec->size / kRecord; ++i) {
        const uint64_t base = i * kRecord;
        auto find = [&](uint64_t off) { auto it = at.find(off); return it == at.end() ? nullptr : it->second; };
        const Reloc *name = find(base), *addr = find(base + 8);
        if (!name && bytesZero(base, 8))
            continue; // a null name: the loader skips the record
        uint32_t kind = 0;
        if (sec->data.size() >= base + 20)
            kind = llvm::support::endian::read32le(&sec->data[base + 16]);
        const Section *nameSec = inSection(name), *addrSec = inSection(addr);
        bool ok = nameSec && addrSec && kind <= kPerCpuKind;
        if (ok && nameSec->type != SHT_NOBITS) { // the name is a NUL-terminated string there
            const int64_t o = static_cast<int64_t>(f.symbols[name->symbol].value) + name->addend;
            ok = o >= 0 && static_cast<uint64_t>(o) < nameSec->data.size() &&
                 std::find(nameSec->data.begin() + o, nameSec->data.end(), 0) != nameSec->data.end();
        }
        if (ok)
            ok = (kind == kPerCpuKind) == isPerCpuSymbol(f, f.symbols[addr->symbol]);
        if (!ok)
            report(diagnostic(Rule::Malformed, f, sec->name, base, "",
                              "export record " + std::to_string(i) +
                                  " does not name a symbol of this module (name, address or kind "
                                  "out of place)"));
    }
}

namespace {

// Whether a note of `owner` with type `type` is in one of f's SHT_NOTE sections.
bool hasNote(const ObjectFile &f, StringRef owner, uint32_t type)
{
    for (const Section &s : f.sections) {
        if (s.type != SHT_NOTE)
            continue;
        for (size_t at = 0; at + 12 <= s.data.size();) {
            uint32_t nameSize, descSize, t;
            std::memcpy(&nameSize, s.data.data() + at, 4);
            std::memcpy(&descSize, s.data.data() + at + 4, 4);
            std::memcpy(&t, s.data.data() + at + 8, 4);
            const size_t len = 12 + alignTo(nameSize, 4) + alignTo(descSize, 4);
            if (len > s.data.size() - at)
                break;
            StringRef name(reinterpret_cast<const char *>(s.data.data() + at + 12), nameSize);
            if (t == type && name.rtrim('\0') == owner)
                return true;
            at += len;
        }
    }
    return false;
}

// The names of f's dynamic symbols, defined (true) or undefined (false).
std::vector<std::pair<StringRef, bool>> dynamicSymbols(const ObjectFile &f)
{
    std::vector<std::pair<StringRef, bool>> out;
    const Section *dynsym = nullptr;
    for (const Section &s : f.sections)
        if (s.type == SHT_DYNSYM)
            dynsym = &s;
    if (!dynsym || dynsym->link >= f.sections.size())
        return out;
    const std::vector<uint8_t> &strtab = f.sections[dynsym->link].data;
    using Sym = llvm::object::ELF64LE::Sym;
    for (size_t at = sizeof(Sym); at + sizeof(Sym) <= dynsym->data.size(); at += sizeof(Sym)) {
        Sym sym;
        std::memcpy(&sym, dynsym->data.data() + at, sizeof(Sym));
        uint32_t off = sym.st_name;
        if (off >= strtab.size())
            continue;
        const char *name = reinterpret_cast<const char *>(strtab.data() + off);
        out.emplace_back(StringRef(name, strnlen(name, strtab.size() - off)), sym.st_shndx != SHN_UNDEF);
    }
    return out;
}

} // namespace

// A shared object that defines or uses per-CPU data must be linked as one
// (percpu_add_library, percpu-elfpatch link --shared): linked plainly, its
// per-CPU variables are ordinary data, one copy for every CPU, and nothing
// fails.  What such an object is built with carries a note (owner
// "percpu-runtime", type 3: the start-up object library.cc).
void Checker::sharedObject(const ObjectFile &f)
{
    if (f.elfType != ET_DYN || f.sectionByName(".interp"))
        return; // a program (PIE), or a static one
    if (hasNote(f, "percpu-runtime", 3) || hasNote(f, "percpu-runtime", 2))
        return; // linked as a per-CPU shared object, or the runtime itself
    std::string evidence;
    for (const Section &s : f.sections)
        if (evidence.empty() && s.index && (s.flags & SHF_ALLOC) && classifySection(s.name))
            evidence = "a per-CPU section (" + s.name + ")";
    if (evidence.empty() && f.sectionByName("percpu_exports"))
        evidence = "an export table (percpu_exports: EXPORT_PER_CPU_SYMBOL or EXPORT_SYMBOL)";
    if (evidence.empty())
        for (const auto &[name, defined] : dynamicSymbols(f))
            if (!defined && (name == "pcpu_unit_offset" || name == "pcpu__unit_base" ||
                             name == "pcpu__rseq_offset" || name == "pcpu__this_cpu_slow")) {
                evidence = "per-CPU accesses (it uses " + name.str() + ")";
                break;
            }
    if (evidence.empty())
        return;
    report(Rule::SharedObject, f.path,
           "shared object has " + evidence +
               " but was not linked as a per-CPU shared object: its per-CPU variables are one "
               "variable for every CPU, and per-CPU variables of other objects that it reaches "
               "may not be moved to their blocks; link it with percpu_add_library() (CMake) or "
               "`percpu-elfpatch link --shared`");
}

std::vector<Diagnostic> Checker::run()
{
    for (const ObjectFile &f : files_) {
        bool found = false;
        layouts_.push_back(f.isRelocatable() ? planBlock(f) : linkedBlock(f, found));
    }
    for (size_t i = 0; i < files_.size(); ++i) {
        const ObjectFile &f = files_[i];
        sectionRules(f);
        symbolRules(f, layouts_[i]);
        if (f.isRelocatable()) {
            directAccess(f);
            unsupportedRelocations(f);
            exportRecords(f);
        } else {
            hostLayout(f);
            sharedObject(f);
        }
    }
    kindMismatch();
    blockBudget();
    layoutDrift();
    if (!uncoveredKernelRefs_.empty())
        report(Rule::DirectAccess, files_.empty() ? "" : files_.front().path,
               std::to_string(uncoveredKernelRefs_.size()) +
                   " undefined symbols referenced by kernel-module code (vmlinux's, such as '" +
                   *uncoveredKernelRefs_.begin() +
                   "') were not checked for per-CPU use: pass --kernel-symbols System.map (or "
                   "vmlinux) to cover vmlinux's per-CPU variables",
               Severity::Note);
    return std::move(out_);
}

} // namespace

std::vector<Diagnostic> runChecks(const std::vector<ObjectFile> &files, const CheckOptions &options)
{
    return Checker(files, options).run();
}

} // namespace percpu::elfpatch
