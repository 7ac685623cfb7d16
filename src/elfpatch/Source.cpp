//===- Source.cpp - source places of object offsets (DWARF, symbols) ------===//
#include "percpu/elfpatch/Source.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/DebugInfo/DIContext.h"
#include "llvm/DebugInfo/DWARF/DWARFContext.h"
#include "llvm/DebugInfo/DWARF/DWARFDataExtractor.h"
#include "llvm/DebugInfo/DWARF/DWARFDebugLine.h"
#include "llvm/DebugInfo/DWARF/DWARFUnit.h"
#include "llvm/Object/ObjectFile.h"

#include <map>

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

// DWARF's file, line and column for each request, read in a child process.
// An empty result: the child failed (a crash in LLVM's DWARF reader on a
// damaged object, or no fork): the places keep what the parent knows.
std::vector<SourceLocation> dwarfInChild(const std::vector<Request> &requests)
{
    int fds[2];
    if (::pipe(fds) != 0)
        return {};
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return {};
    }
    if (pid == 0) {
        ::close(fds[0]);
        // A crash report of the child (a sanitizer's) is not the user's.
        int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0)
            ::dup2(null, 2);
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
        writeAll(fds[1], out);
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
        return {};
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

} // namespace percpu::elfpatch
