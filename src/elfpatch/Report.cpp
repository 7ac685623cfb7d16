//===- Report.cpp -------------------------------------------------------------===//
#include "percpu/elfpatch/Report.h"
#include "percpu/elfpatch/Check.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

using namespace llvm;
using namespace llvm::ELF;

namespace percpu::elfpatch {

namespace {

// Which functions refer to each variable: a relocation against the
// variable's symbol, or against its section with an addend inside it (the
// addend of a PC-relative reference may stop short of the field's end, so
// the few bytes after it are tried too, whatever the architecture).
void findUsers(const ObjectFile &obj, const BlockLayout &b, LayoutReport &r)
{
    std::map<uint32_t, size_t> bySymbol;
    for (size_t i = 0; i < b.symbols.size(); ++i)
        bySymbol[b.symbols[i].symbol] = i;
    auto rowAt = [&](uint64_t off) -> std::optional<size_t> {
        for (size_t i = 0; i < b.symbols.size(); ++i)
            if (off >= b.symbols[i].offset && off < b.symbols[i].offset + std::max<uint64_t>(b.symbols[i].size, 1))
                return i;
        return std::nullopt;
    };
    std::vector<std::set<std::string>> users(b.symbols.size());
    for (const auto &[rela, list] : obj.relocs) {
        uint32_t target = obj.relocTarget(rela);
        if (target >= obj.sections.size() || !(obj.sections[target].flags & SHF_EXECINSTR))
            continue;
        std::vector<const Symbol *> funcs;
        for (const Symbol &s : obj.symbols)
            if (s.type == STT_FUNC && s.shndx == target)
                funcs.push_back(&s);
        for (const Reloc &rel : list) {
            if (rel.symbol >= obj.symbols.size())
                continue;
            const Symbol &sym = obj.symbols[rel.symbol];
            std::optional<size_t> row;
            if (auto it = bySymbol.find(rel.symbol); it != bySymbol.end())
                row = it->second;
            else if (sym.type == STT_SECTION && sym.isDefinedInSection())
                if (auto base = b.offsetOf(sym.shndx))
                    for (int64_t slack = 0; slack <= 8 && !row; slack += 4)
                        if (rel.addend >= -slack && rel.addend <= INT64_MAX - slack) // no overflow
                            row = rowAt(*base + static_cast<uint64_t>(rel.addend + slack));
            if (!row)
                continue;
            std::string user = obj.sections[target].name;
            for (const Symbol *f : funcs)
                if (rel.offset >= f->value && rel.offset < f->value + std::max<uint64_t>(f->size, 1))
                    user = f->name;
            users[*row].insert(user);
        }
    }
    for (size_t i = 0; i < users.size() && i < r.rows.size(); ++i)
        r.rows[i].users.assign(users[i].begin(), users[i].end());
}

} // namespace

LayoutReport buildLayoutReport(const ObjectFile &obj, unsigned cpus, uint64_t cacheline, Abi abi)
{
    LayoutReport r;
    r.file = obj.path;
    r.cpus = cpus;
    r.cacheline = cacheline;
    r.program = !obj.isRelocatable();
    r.sharedObject = obj.elfType == llvm::ELF::ET_DYN && !obj.sectionByName(".interp");
    bool found = false;
    BlockLayout b = r.program ? linkedBlock(obj, found) : planBlock(obj);
    r.blockSize = b.size;
    r.blockAlign = b.align;
    if (!r.program && usesKernelModel(obj, abi)) {
        KernelAllocation ka = kernelAllocation(obj, b);
        r.kernel = true;
        r.kernelSize = ka.size;
        r.kernelAlign = ka.align;
        r.reserve = kKernelModuleReserve;
    }
    uint64_t prevEnd = 0;
    for (const PlacedSymbol &s : b.symbols) {
        LayoutRow row;
        row.name = s.name;
        row.section = r.program ? obj.sectionLabel(s.section) : groupName(s.group);
        row.offset = s.offset;
        row.size = s.size;
        row.align = s.align;
        row.input = s.input;
        row.occurrence = s.occurrence;
        row.paddingBefore = s.offset > prevEnd ? s.offset - prevEnd : 0;
        row.firstLine = s.offset / cacheline;
        row.lastLine = (s.offset + std::max<uint64_t>(s.size, 1) - 1) / cacheline;
        prevEnd = std::max(prevEnd, s.offset + s.size);
        r.padding += row.paddingBefore;
        r.rows.push_back(std::move(row));
    }
    if (b.size > prevEnd)
        r.padding += b.size - prevEnd;
    if (!r.program)
        findUsers(obj, b, r);

    // Suggested order: within each group, larger alignment first, then
    // larger size.  Both orders are simulated the same way (each variable at
    // its alignment, the fragment's step after each group) and compared by
    // the padding between variables.
    if (!r.program && !b.symbols.empty()) {
        std::map<unsigned, std::vector<const PlacedSymbol *>> current, sorted;
        for (const PlacedSymbol &s : b.symbols)
            current[static_cast<unsigned>(s.group)].push_back(&s);
        sorted = current;
        for (auto &[g, vars] : sorted)
            std::stable_sort(vars.begin(), vars.end(), [](const PlacedSymbol *a, const PlacedSymbol *b) {
                return a->align != b->align ? a->align > b->align : a->size > b->size;
            });
        auto padding = [](const std::map<unsigned, std::vector<const PlacedSymbol *>> &groups) {
            uint64_t at = 0, pad = 0;
            for (auto &[g, vars] : groups) {
                for (const PlacedSymbol *s : vars) {
                    uint64_t next = alignTo(at, std::max<uint64_t>(s->align, 1));
                    pad += next - at;
                    at = next + s->size;
                }
                at = alignTo(at, kGroupStep);
            }
            return pad;
        };
        uint64_t now = padding(current), better = padding(sorted);
        if (better < now) {
            for (auto &[g, vars] : sorted)
                for (const PlacedSymbol *s : vars)
                    r.reorder.push_back(s->name);
            r.reorderPadding = better;
        }
    }
    return r;
}

std::string layoutText(const LayoutReport &r)
{
    std::string out;
    raw_string_ostream os(out);
    os << r.file << ": per-CPU block of "
       << (r.sharedObject ? "a shared object"
           : r.program    ? "a linked program"
           : r.kernel     ? "a kernel module"
                          : "a relocatable object")
       << "\n";
    if (r.rows.empty() && r.blockSize == 0) {
        os << "  no per-CPU data\n";
        return out;
    }
    const char *h[] = {"variable", "section", "offset", "size", "align", "padding", "cache lines"};
    os << format("  %-32s %-16s %8s %8s %6s %8s  %s\n", h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    for (const LayoutRow &row : r.rows) {
        std::string lines = row.firstLine == row.lastLine
                                ? std::to_string(row.firstLine)
                                : std::to_string(row.firstLine) + "-" + std::to_string(row.lastLine);
        os << format("  %-32s %-16s %8s %8llu %6llu %8llu  %s\n", row.name.c_str(),
                     row.section.c_str(), ("0x" + utohexstr(row.offset)).c_str(),
                     static_cast<unsigned long long>(row.size),
                     static_cast<unsigned long long>(row.align),
                     static_cast<unsigned long long>(row.paddingBefore), lines.c_str());
    }
    os << "  bytes per CPU: " << r.blockSize << " (alignment " << r.blockAlign << "), padding: "
       << r.padding << " bytes\n";
    if (r.kernel)
        os << "  kernel allocation: " << r.kernelSize << " bytes at alignment " << r.kernelAlign << ", "
           << format("%.1f", 100.0 * static_cast<double>(r.kernelSize) / static_cast<double>(r.reserve))
           << "% of the " << r.reserve << "-byte module reserve (PERCPU_MODULE_RESERVE) all modules share\n";
    else
        os << "  bytes for " << r.cpus << " CPUs: " << r.blockSize * r.cpus << "\n";
    if (!r.reorder.empty()) {
        os << "  padding between variables could drop to " << r.reorderPadding
           << " bytes with this order (by alignment, then size, per group):\n   ";
        for (const std::string &n : r.reorder)
            os << " " << n;
        os << "\n";
    }
    return out;
}

std::vector<std::pair<uint64_t, std::pair<std::string, std::string>>> falseSharingCandidates(
    const LayoutReport &r)
{
    std::vector<std::pair<uint64_t, std::pair<std::string, std::string>>> out;
    for (size_t i = 0; i < r.rows.size(); ++i)
        for (size_t j = i + 1; j < r.rows.size(); ++j) {
            const LayoutRow &a = r.rows[i], &b = r.rows[j];
            if (a.section == "read_mostly" || b.section == "read_mostly" || a.users.empty() ||
                b.users.empty() || a.users == b.users)
                continue;
            uint64_t lo = std::max(a.firstLine, b.firstLine), hi = std::min(a.lastLine, b.lastLine);
            if (lo <= hi)
                out.push_back({lo, {a.name, b.name}});
        }
    return out;
}

namespace {

std::string xmlEscape(StringRef s)
{
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

} // namespace

// One row per cache line, one pixel column per 12 bytes... (see the
// constants): variables are boxes coloured by group, padding is hatched,
// lines with a false-sharing candidate get a red frame and a legend entry.
std::string layoutSvg(const LayoutReport &r)
{
    constexpr unsigned kByte = 12, kRow = 30, kLeft = 70, kTop = 58, kMaxLines = 512;
    const uint64_t line = std::max<uint64_t>(r.cacheline, 1);
    const uint64_t lines = std::min<uint64_t>((r.blockSize + line - 1) / line, kMaxLines);
    auto candidates = falseSharingCandidates(r);
    std::set<uint64_t> hot;
    for (const auto &c : candidates)
        hot.insert(c.first);
    const unsigned width = kLeft + static_cast<unsigned>(line) * kByte + 20;
    const unsigned legendRows = 2 + static_cast<unsigned>(std::min<size_t>(candidates.size(), 20));
    const unsigned height = kTop + static_cast<unsigned>(lines) * kRow + 20 + legendRows * 18;
    std::string out;
    raw_string_ostream os(out);
    os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
       << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
       << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"monospace\" font-size=\"11\">\n"
       << "<defs><pattern id=\"pad\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
          "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#eeeeee\"/>"
          "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#bbbbbb\" stroke-width=\"2\"/></pattern></defs>\n"
       << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
       << "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" << xmlEscape(r.file)
       << ": per-CPU block, " << r.blockSize << " bytes, " << r.padding << " bytes of padding</text>\n"
       << "<text x=\"10\" y=\"40\">one row per " << line << "-byte cache line; hatched: padding"
       << (r.kernel ? "; a kernel module" : "") << "</text>\n";
    static const char *colours[] = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
                                    "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd"};
    for (uint64_t l = 0; l < lines; ++l) {
        unsigned y = kTop + static_cast<unsigned>(l) * kRow;
        os << "<text x=\"10\" y=\"" << y + 19 << "\">0x" << utohexstr(l * line) << "</text>\n"
           << "<rect x=\"" << kLeft << "\" y=\"" << y << "\" width=\""
           << std::min<uint64_t>(line, r.blockSize - l * line) * kByte << "\" height=\""
           << kRow - 4 << "\" fill=\"url(#pad)\" stroke=\"" << (hot.count(l) ? "#d00000" : "#999999")
           << "\" stroke-width=\"" << (hot.count(l) ? 3 : 1) << "\"/>\n";
    }
    for (size_t i = 0; i < r.rows.size(); ++i) {
        const LayoutRow &row = r.rows[i];
        uint64_t begin = row.offset, end = row.offset + std::max<uint64_t>(row.size, 1);
        for (uint64_t l = begin / line; l * line < end && l < lines; ++l) {
            uint64_t from = std::max(begin, l * line), to = std::min(end, (l + 1) * line);
            unsigned x = kLeft + static_cast<unsigned>(from - l * line) * kByte;
            unsigned w = static_cast<unsigned>(to - from) * kByte;
            unsigned y = kTop + static_cast<unsigned>(l) * kRow;
            os << "<g><title>" << xmlEscape(row.name) << ": offset 0x" << utohexstr(row.offset) << ", "
               << row.size << " bytes, " << xmlEscape(row.section) << "</title>"
               << "<rect x=\"" << x << "\" y=\"" << y + 2 << "\" width=\"" << w << "\" height=\"" << kRow - 8
               << "\" fill=\"" << colours[i % 10] << "\" stroke=\"#333333\"/>";
            size_t fits = w / 7;
            if (fits >= 2) {
                std::string label = row.name.size() <= fits ? row.name : row.name.substr(0, fits - 1) + "~";
                os << "<text x=\"" << x + 3 << "\" y=\"" << y + 17 << "\">" << xmlEscape(label) << "</text>";
            }
            os << "</g>\n";
        }
    }
    unsigned y = kTop + static_cast<unsigned>(lines) * kRow + 20;
    if (lines < (r.blockSize + line - 1) / line)
        os << "<text x=\"10\" y=\"" << y << "\">... " << (r.blockSize + line - 1) / line - lines
           << " more lines not drawn</text>\n";
    y += 18;
    os << "<text x=\"10\" y=\"" << y << "\">false-sharing candidates (variables on one line, used by "
          "different functions): "
       << candidates.size() << "</text>\n";
    for (size_t k = 0; k < candidates.size() && k < 20; ++k) {
        y += 18;
        os << "<text x=\"20\" y=\"" << y << "\" fill=\"#d00000\">line 0x"
           << utohexstr(candidates[k].first * line) << ": " << xmlEscape(candidates[k].second.first) << " and "
           << xmlEscape(candidates[k].second.second) << "</text>\n";
    }
    os << "</svg>\n";
    return out;
}

std::string diagnosticsText(const std::vector<Diagnostic> &diags, unsigned errorLimit)
{
    std::string out;
    size_t errors = 0, hidden = 0;
    for (const Diagnostic &d : diags) {
        if (d.severity == Severity::Error && errorLimit && errors++ >= errorLimit) {
            ++hidden;
            continue;
        }
        out += d.str() + "\n";
    }
    if (hidden)
        out += std::to_string(hidden) + " more error" + (hidden == 1 ? "" : "s") +
               "; use --error-limit=0 to see all\n";
    return out;
}

namespace {

// A diagnostic's source place for JSON: null, or its four fields (each null
// when unknown).
json::Value sourceJson(const Diagnostic &d)
{
    if (!d.source)
        return nullptr;
    const SourceLocation &s = *d.source;
    auto orNull = [](uint32_t v) { return v ? json::Value(static_cast<int64_t>(v)) : json::Value(nullptr); };
    return json::Object{{"file", s.file.empty() ? json::Value(nullptr) : json::Value(s.file)},
                        {"line", orNull(s.line)},
                        {"column", orNull(s.column)},
                        {"function", s.function.empty() ? json::Value(nullptr) : json::Value(s.function)}};
}

// A path as a SARIF artifact URI (RFC 3986): an absolute path becomes a
// file: URI, as code scanning expects for files under the checkout; a
// relative one (an object as the command line named it) stays a relative
// reference.  Bytes outside a path's characters are percent-encoded (a
// space, '%', '#', '?', non-ASCII), and so is ':' in a relative reference,
// which would otherwise read as a scheme.
std::string fileUri(const std::string &path)
{
    const bool absolute = !path.empty() && path[0] == '/';
    std::string uri = absolute ? "file://" : "";
    for (unsigned char c : path) {
        const bool keep = isAlnum(c) || std::strchr("-._~/!$&'()*+,;=@", c) || (c == ':' && absolute);
        if (keep && c) {
            uri += static_cast<char>(c);
        } else {
            uri += '%';
            uri += hexdigit(c >> 4);
            uri += hexdigit(c & 15);
        }
    }
    return uri;
}

} // namespace

json::Value diagnosticsJson(const std::vector<Diagnostic> &diags, size_t files)
{
    json::Array arr;
    std::map<std::string, int64_t> byRule;
    int64_t errors = 0, warnings = 0;
    for (const Diagnostic &d : diags) {
        json::Object o{{"rule", ruleId(d.rule)},
                       {"severity", severityName(d.severity)},
                       {"file", d.file},
                       {"section", d.section.empty() ? json::Value(nullptr) : json::Value(d.section)},
                       {"offset", d.offset ? json::Value(static_cast<int64_t>(*d.offset)) : json::Value(nullptr)},
                       {"symbol", d.symbol.empty() ? json::Value(nullptr) : json::Value(d.symbol)},
                       {"message", d.message},
                       {"source", sourceJson(d)}};
        arr.push_back(std::move(o));
        ++byRule[ruleId(d.rule)];
        if (d.severity == Severity::Error)
            ++errors;
        else if (d.severity == Severity::Warning)
            ++warnings;
    }
    json::Object rules;
    for (auto &[k, v] : byRule)
        rules[k] = v;
    return json::Object{{"diagnostics", std::move(arr)},
                        {"summary", json::Object{{"files", static_cast<int64_t>(files)},
                                                 {"errors", errors},
                                                 {"warnings", warnings},
                                                 {"rules", std::move(rules)}}}};
}

json::Value diagnosticsSarif(const std::vector<Diagnostic> &diags, const std::string &version)
{
    json::Array rules;
    for (const RuleInfo &r : allRules())
        if (r.scope & kCheckRule)
            rules.push_back(json::Object{{"id", r.id},
                                     {"name", r.id},
                                     {"shortDescription", json::Object{{"text", r.summary}}},
                                     {"defaultConfiguration", json::Object{{"level", "error"}}}});
    json::Array results;
    for (const Diagnostic &d : diags) {
        // With a source line, the result lands on it (code scanning annotates
        // the line) and the object file is a related location; without, the
        // object file is the location.
        const bool onSource = d.source && !d.source->file.empty() && d.source->line;
        json::Object physical{{"artifactLocation",
                               json::Object{{"uri", fileUri(onSource ? d.source->file : d.file)}}}};
        if (onSource) {
            json::Object region{{"startLine", static_cast<int64_t>(d.source->line)}};
            if (d.source->column)
                region["startColumn"] = static_cast<int64_t>(d.source->column);
            physical["region"] = std::move(region);
        }
        json::Object loc{{"physicalLocation", std::move(physical)}};
        json::Array logical;
        if (!d.section.empty()) {
            std::string name = d.section;
            if (d.offset)
                name += "+0x" + utohexstr(*d.offset);
            logical.push_back(json::Object{{"name", name}, {"kind", "section"}});
        }
        if (!d.symbol.empty())
            logical.push_back(json::Object{{"name", d.symbol}, {"kind", "variable"}});
        if (d.source && !d.source->function.empty())
            logical.push_back(json::Object{{"name", d.source->function}, {"kind", "function"}});
        if (!logical.empty())
            loc["logicalLocations"] = std::move(logical);
        json::Object res{{"ruleId", ruleId(d.rule)},
                         {"level", d.severity == Severity::Error     ? "error"
                                   : d.severity == Severity::Warning ? "warning"
                                                                     : "note"},
                         {"message", json::Object{{"text", d.message}}},
                         {"locations", json::Array{std::move(loc)}}};
        if (onSource)
            res["relatedLocations"] = json::Array{json::Object{
                {"id", 1},
                {"physicalLocation", json::Object{{"artifactLocation", json::Object{{"uri", fileUri(d.file)}}}}},
                {"message", json::Object{{"text", "the object file"}}}}};
        results.push_back(std::move(res));
    }
    json::Object driver{{"name", "percpu-elfpatch"},
                        {"version", version},
                        {"rules", std::move(rules)}};
    return json::Object{
        {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
        {"version", "2.1.0"},
        {"runs", json::Array{json::Object{{"tool", json::Object{{"driver", std::move(driver)}}},
                                          {"results", std::move(results)}}}}};
}

} // namespace percpu::elfpatch
