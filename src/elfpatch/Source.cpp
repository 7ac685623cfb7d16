//===- Source.cpp - source places of object offsets (DWARF, symbols) ------===//
#include "percpu/elfpatch/Source.h"
#include "percpu/elfpatch/Layout.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/DebugInfo/DIContext.h"
#include "llvm/DebugInfo/DWARF/DWARFContext.h"
#include "llvm/DebugInfo/DWARF/DWARFDataExtractor.h"
#include "llvm/DebugInfo/DWARF/DWARFDebugLine.h"
#include "llvm/DebugInfo/DWARF/DWARFDie.h"
#include "llvm/DebugInfo/DWARF/DWARFUnit.h"
#include "llvm/Object/ObjectFile.h"

#include <functional>
#include <map>
#include <optional>
#include <set>

#include <cerrno>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace llvm;

namespace percpu::elfpatch {

// Only the line tables are read (DWARFDebugLine, over the relocated
// .debug_line), never the DIE tree: LLVM's DIE walk (getLineInfoForAddress's
// inlined-chain lookup) crashes on some damaged .debug_info that the fuzzer
// produced, and a checker must not.  The function comes from the symbol
// table, which is this library's own reading.
struct SourceLocator::Dwarf {
    std::unique_ptr<object::ObjectFile> file;
    std::unique_ptr<DWARFContext> context;
    std::vector<DWARFDebugLine::LineTable> tables;
};

SourceLocator::SourceLocator(const ObjectFile &obj) : obj_(obj) {}
SourceLocator::~SourceLocator() = default;

std::optional<SourceLocation> SourceLocator::locate(uint32_t section, uint64_t offset, bool useDwarf)
{
    SourceLocation loc;
    if (useDwarf && !triedDwarf_) {
        triedDwarf_ = true;
        bool hasLines = false;
        for (const Section &s : obj_.sections)
            hasLines |= s.name == ".debug_line" || s.name == ".zdebug_line";
        if (hasLines && obj_.buffer.getBufferSize()) {
            auto file = object::ObjectFile::createObjectFile(obj_.buffer);
            if (file) {
                dwarf_ = std::make_unique<Dwarf>();
                dwarf_->file = std::move(*file);
                // Damaged DWARF makes a place less precise, not a message.
                auto quiet = [](Error e) { consumeError(std::move(e)); };
                dwarf_->context = DWARFContext::create(*dwarf_->file, DWARFContext::ProcessDebugRelocations::Process,
                                                       nullptr, "", quiet, quiet);
                const DWARFObject &dobj = dwarf_->context->getDWARFObj();
                DWARFDataExtractor data(dobj, dobj.getLineSection(), dobj.isLittleEndian(), 0);
                // No units: the tables are read one after the other, without
                // the unit DIEs that would say where each starts.
                static DWARFUnitVector noUnits;
                DWARFDebugLine::SectionParser parser(data, *dwarf_->context,
                                                     make_range(noUnits.begin(), noUnits.end()));
                while (!parser.done()) {
                    DWARFDebugLine::LineTable table = parser.parseNext(quiet, quiet);
                    if (!table.Rows.empty())
                        dwarf_->tables.push_back(std::move(table));
                }
            } else {
                consumeError(file.takeError());
            }
        }
    }
    if (useDwarf && dwarf_) {
        // In a relocatable object each section starts at 0: the section
        // index tells the places apart, as the line table's relocations do.
        const uint64_t address = obj_.isRelocatable() ? offset : obj_.sections[section].addr + offset;
        const object::SectionedAddress at{address, obj_.isRelocatable() ? section : object::SectionedAddress::UndefSection};
        for (const DWARFDebugLine::LineTable &table : dwarf_->tables) {
            const uint32_t row = table.lookupAddress(at);
            if (row == table.UnknownRowIndex || row >= table.Rows.size())
                continue;
            const DWARFDebugLine::Row &r = table.Rows[row];
            std::string name;
            if (!r.Line || !table.getFileNameByIndex(r.File, "", DILineInfoSpecifier::FileLineInfoKind::AbsoluteFilePath,
                                                     name))
                continue;
            loc.file = name;
            loc.line = r.Line;
            loc.column = r.Column;
            break;
        }
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

namespace {

// The child's answer for one place: line, column and the file name, as
// "LINE COLUMN LENGTH\nNAME" (LINE 0: no line).
void writeAll(int fd, const std::string &s)
{
    for (size_t done = 0; done < s.size();) {
        ssize_t n = ::write(fd, s.data() + done, s.size() - done);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return;
        }
        done += static_cast<size_t>(n);
    }
}

struct Request {
    Diagnostic *diag;
    const ObjectFile *file;
    uint32_t section;
    uint64_t offset;
};

// What `work` returns, computed in a forked child and read back through a
// pipe; nullopt when the child failed (a crash in LLVM's DWARF reader on a
// damaged object, or no fork).  The child's stderr goes to /dev/null: a
// crash report of the child (a sanitizer's) is not the user's.
std::optional<std::string> inChild(const std::function<std::string()> &work)
{
    int fds[2];
    if (::pipe(fds) != 0)
        return std::nullopt;
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return std::nullopt;
    }
    if (pid == 0) {
        ::close(fds[0]);
        int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0)
            ::dup2(null, 2);
        writeAll(fds[1], work());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string in;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fds[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        in.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return std::nullopt;
    return in;
}

// DWARF's file, line and column for each request, read in a child process.
// An empty result: the child failed; the places keep what the parent knows.
std::vector<SourceLocation> dwarfInChild(const std::vector<Request> &requests)
{
    std::optional<std::string> answer = inChild([&] {
        std::map<const ObjectFile *, std::unique_ptr<SourceLocator>> locators;
        std::string out;
        for (const Request &r : requests) {
            auto &loc = locators[r.file];
            if (!loc)
                loc = std::make_unique<SourceLocator>(*r.file);
            std::optional<SourceLocation> s = loc->locate(r.section, r.offset);
            const std::string name = s ? s->file : "";
            out += std::to_string(s ? s->line : 0) + " " + std::to_string(s ? s->column : 0) + " " +
                   std::to_string(name.size()) + "\n" + name;
        }
        return out;
    });
    if (!answer)
        return {};
    const std::string &in = *answer;
    std::vector<SourceLocation> result;
    StringRef rest(in);
    for (size_t i = 0; i < requests.size(); ++i) {
        auto [head, tail] = rest.split('\n');
        SmallVector<StringRef, 3> f;
        head.split(f, ' ');
        uint32_t line = 0, column = 0;
        size_t length = 0;
        if (f.size() != 3 || f[0].getAsInteger(10, line) || f[1].getAsInteger(10, column) ||
            f[2].getAsInteger(10, length) || length > tail.size())
            return {};
        SourceLocation s;
        s.line = line;
        s.column = column;
        s.file = tail.substr(0, length).str();
        result.push_back(std::move(s));
        rest = tail.drop_front(length);
    }
    return result;
}

} // namespace

void attachSourceLocations(std::vector<Diagnostic> &diags, const std::vector<ObjectFile> &files)
{
    std::map<const ObjectFile *, std::unique_ptr<SourceLocator>> symbols;
    std::vector<Request> dwarf;
    for (Diagnostic &d : diags) {
        if (!d.offset || d.section.empty() || d.source)
            continue;
        for (const ObjectFile &f : files) {
            if (f.path != d.file)
                continue;
            const Section *s = f.sectionByName(d.section);
            if (!s || !(s->flags & ELF::SHF_EXECINSTR))
                break;
            const uint64_t at = d.sourceOffset ? *d.sourceOffset : *d.offset;
            auto &loc = symbols[&f];
            if (!loc)
                loc = std::make_unique<SourceLocator>(f);
            d.source = loc->locate(s->index, at, /*useDwarf=*/false);
            bool hasLines = false;
            for (const Section &t : f.sections)
                hasLines |= t.name == ".debug_line" || t.name == ".zdebug_line";
            if (hasLines)
                dwarf.push_back({&d, &f, s->index, at});
            break;
        }
    }
    if (dwarf.empty())
        return;
    const std::vector<SourceLocation> lines = dwarfInChild(dwarf);
    for (size_t i = 0; i < lines.size(); ++i) {
        if (!lines[i].line)
            continue;
        Diagnostic &d = *dwarf[i].diag;
        if (!d.source)
            d.source.emplace();
        d.source->file = lines[i].file;
        d.source->line = lines[i].line;
        d.source->column = lines[i].column;
    }
}

namespace {

// A global variable of one unit's DWARF: its name, whether a declaration,
// its type's size and name, and where it is written.
struct VariableType {
    std::string name, type, declFile;
    uint64_t size = 0;
    uint32_t declLine = 0;
    bool declaration = false;
};

// The name of a type as a developer wrote it (a typedef's, a base type's,
// "struct tag"), or what kind of type it is.
std::string typeName(DWARFDie t)
{
    if (!t)
        return "void";
    if (const char *n = t.getName(DINameKind::ShortName)) {
        switch (t.getTag()) {
        case dwarf::DW_TAG_structure_type: return std::string("struct ") + n;
        case dwarf::DW_TAG_union_type: return std::string("union ") + n;
        case dwarf::DW_TAG_enumeration_type: return std::string("enum ") + n;
        default: return n;
        }
    }
    switch (t.getTag()) {
    case dwarf::DW_TAG_array_type: return typeName(t.getAttributeValueAsReferencedDie(dwarf::DW_AT_type)) + "[]";
    case dwarf::DW_TAG_pointer_type: return typeName(t.getAttributeValueAsReferencedDie(dwarf::DW_AT_type)) + " *";
    case dwarf::DW_TAG_const_type: return "const " + typeName(t.getAttributeValueAsReferencedDie(dwarf::DW_AT_type));
    case dwarf::DW_TAG_volatile_type:
        return "volatile " + typeName(t.getAttributeValueAsReferencedDie(dwarf::DW_AT_type));
    default: return "an unnamed type";
    }
}

// A type's size in bytes, as DWARF gives it (LLVM 14 has no
// DWARFDie::getTypeSize): a byte size, through qualifiers and typedefs, an
// address for pointers, elements times counts for arrays.
std::optional<uint64_t> typeSize(DWARFDie t, uint64_t addressSize, int depth = 0)
{
    if (!t || depth > 16)
        return std::nullopt;
    if (auto bytes = dwarf::toUnsigned(t.find(dwarf::DW_AT_byte_size)))
        return *bytes;
    switch (t.getTag()) {
    case dwarf::DW_TAG_pointer_type:
    case dwarf::DW_TAG_reference_type:
    case dwarf::DW_TAG_rvalue_reference_type:
        return addressSize;
    case dwarf::DW_TAG_typedef:
    case dwarf::DW_TAG_const_type:
    case dwarf::DW_TAG_volatile_type:
    case dwarf::DW_TAG_restrict_type:
    case dwarf::DW_TAG_atomic_type:
        return typeSize(t.getAttributeValueAsReferencedDie(dwarf::DW_AT_type), addressSize, depth + 1);
    case dwarf::DW_TAG_array_type: {
        std::optional<uint64_t> size = typeSize(t.getAttributeValueAsReferencedDie(dwarf::DW_AT_type), addressSize, depth + 1);
        for (DWARFDie c = t.getFirstChild(); size && c && !c.isNULL(); c = c.getSibling()) {
            if (c.getTag() != dwarf::DW_TAG_subrange_type)
                continue;
            auto count = dwarf::toUnsigned(c.find(dwarf::DW_AT_count));
            if (!count)
                if (auto upper = dwarf::toUnsigned(c.find(dwarf::DW_AT_upper_bound)))
                    count = *upper + 1 - dwarf::toUnsigned(c.find(dwarf::DW_AT_lower_bound), 0);
            if (!count)
                return std::nullopt; // a flexible or variable length
            size = *size * *count;
        }
        return size;
    }
    default:
        return std::nullopt;
    }
}

// The unit-level variables of one object's .debug_info (in the child).
std::vector<VariableType> variablesOf(const ObjectFile &obj)
{
    std::vector<VariableType> out;
    auto file = object::ObjectFile::createObjectFile(obj.buffer);
    if (!file) {
        consumeError(file.takeError());
        return out;
    }
    auto quiet = [](Error e) { consumeError(std::move(e)); };
    std::unique_ptr<DWARFContext> ctx =
        DWARFContext::create(**file, DWARFContext::ProcessDebugRelocations::Process, nullptr, "", quiet, quiet);
    for (const auto &unit : ctx->compile_units()) {
        DWARFDie top = unit->getUnitDIE(false);
        for (DWARFDie die = top ? top.getFirstChild() : DWARFDie(); die && !die.isNULL(); die = die.getSibling()) {
            if (die.getTag() != dwarf::DW_TAG_variable)
                continue;
            // A definition may point at its declaration (DW_AT_specification)
            // for its name and type.
            DWARFDie spec = die.getAttributeValueAsReferencedDie(dwarf::DW_AT_specification);
            DWARFDie named = spec ? spec : die;
            const char *name = named.getName(DINameKind::ShortName);
            DWARFDie type = named.getAttributeValueAsReferencedDie(dwarf::DW_AT_type);
            if (!name || !type)
                continue;
            std::optional<uint64_t> size = typeSize(type, unit->getAddressByteSize());
            if (!size)
                continue;
            VariableType v;
            v.name = name;
            v.type = typeName(type);
            v.size = *size;
            v.declaration = !spec && static_cast<bool>(die.find(dwarf::DW_AT_declaration));
            v.declFile = named.getDeclFile(DILineInfoSpecifier::FileLineInfoKind::AbsoluteFilePath);
            if (v.declFile.empty()) {
                // No line table to name the file by (gcc emits none for a
                // unit without code): the unit's own file, which is where a
                // definition at its top level is.
                const char *cu = top.getName(DINameKind::ShortName);
                const char *dir = dwarf::toString(top.find(dwarf::DW_AT_comp_dir), nullptr);
                if (cu)
                    v.declFile = (cu[0] != '/' && dir ? std::string(dir) + "/" : std::string()) + cu;
            }
            v.declLine = named.getDeclLine();
            out.push_back(std::move(v));
        }
    }
    return out;
}

} // namespace

std::vector<Diagnostic> typeMismatches(const std::vector<ObjectFile> &files)
{
    // Per-CPU definitions by name, and the objects worth reading: two or
    // more with DWARF, one of them defining a per-CPU variable.
    std::map<std::string, size_t> defs;
    std::vector<size_t> withDwarf;
    for (size_t i = 0; i < files.size(); ++i) {
        const ObjectFile &f = files[i];
        bool hasInfo = false;
        for (const Section &s : f.sections)
            hasInfo |= s.name == ".debug_info" || s.name == ".zdebug_info";
        if (!hasInfo || !f.isRelocatable() || !f.buffer.getBufferSize())
            continue;
        withDwarf.push_back(i);
        for (const Symbol &s : f.symbols)
            if (s.isDefinedInSection() && !s.name.empty() && isPerCpuSymbol(f, s))
                defs.emplace(s.name, i);
    }
    // Only objects that declare (reference) a per-CPU variable another one
    // defines, and the definers of those: most objects need no DIE walk, and
    // none at all means no child.
    // (defs names only objects with DWARF.)
    std::set<size_t> wanted;
    for (size_t i : withDwarf)
        for (const Symbol &s : files[i].symbols)
            if (s.shndx == ELF::SHN_UNDEF && !s.name.empty())
                if (auto d = defs.find(s.name); d != defs.end() && d->second != i) {
                    wanted.insert(i);
                    wanted.insert(d->second);
                }
    withDwarf.assign(wanted.begin(), wanted.end());
    if (withDwarf.size() < 2 || defs.empty())
        return {};
    // The child writes "FILE DECL SIZE LINE\nNAME\nTYPE\nDECLFILE\n" per
    // variable of a per-CPU name.
    std::optional<std::string> answer = inChild([&] {
        std::string out;
        for (size_t i : withDwarf)
            for (const VariableType &v : variablesOf(files[i]))
                if (defs.count(v.name))
                    out += std::to_string(i) + " " + (v.declaration ? "1" : "0") + " " + std::to_string(v.size) +
                           " " + std::to_string(v.declLine) + "\n" + v.name + "\n" + v.type + "\n" + v.declFile +
                           "\n";
        return out;
    });
    if (!answer)
        return {};
    std::vector<std::pair<size_t, VariableType>> vars;
    for (StringRef rest(*answer); !rest.empty();) {
        SmallVector<StringRef, 5> lines;
        for (int k = 0; k < 4 && !rest.empty(); ++k) {
            auto [line, tail] = rest.split('\n');
            lines.push_back(line);
            rest = tail;
        }
        SmallVector<StringRef, 4> head;
        if (lines.size() != 4)
            break;
        lines[0].split(head, ' ');
        size_t file = 0;
        VariableType v;
        if (head.size() != 4 || head[0].getAsInteger(10, file) || head[2].getAsInteger(10, v.size) ||
            head[3].getAsInteger(10, v.declLine) || file >= files.size())
            break;
        v.declaration = head[1] == "1";
        v.name = lines[1].str();
        v.type = lines[2].str();
        v.declFile = lines[3].str();
        vars.emplace_back(file, std::move(v));
    }
    std::vector<Diagnostic> out;
    for (const auto &[file, decl] : vars) {
        if (!decl.declaration)
            continue;
        const size_t defFile = defs[decl.name];
        if (defFile == file)
            continue;
        for (const auto &[other, def] : vars) {
            if (other != defFile || def.declaration || def.name != decl.name || def.size == decl.size)
                continue;
            Diagnostic d;
            d.rule = Rule::TypeMismatch;
            d.file = files[file].path;
            d.symbol = decl.name;
            d.message = "per-CPU '" + decl.name + "' is declared as " + decl.type + " (" + std::to_string(decl.size) +
                        " bytes) but defined as " + def.type + " (" + std::to_string(def.size) + " bytes)" +
                        (def.declLine ? " at " + def.declFile + ":" + std::to_string(def.declLine) : "") + " in " +
                        files[defFile].path + ": every access through the declaration uses the wrong size; "
                        "declare it with the definition's type";
            if (decl.declLine) {
                d.source.emplace();
                d.source->file = decl.declFile;
                d.source->line = decl.declLine;
            }
            out.push_back(std::move(d));
            break;
        }
    }
    return out;
}

} // namespace percpu::elfpatch
