//===- Diagnostic.cpp -------------------------------------------------------===//
#include "percpu/elfpatch/Diagnostic.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <iterator>

using namespace llvm;

namespace percpu::elfpatch {

namespace {
constexpr unsigned kBoth = kCheckRule | kLoadRule;
constexpr RuleInfo kRules[] = {
    {Rule::Malformed, "malformed", "the file is not valid ELF, or a table, offset or index points outside it", kBoth},
    {Rule::SectionFlags, "section-flags", "a per-CPU section is not allocated, writable, non-executable data", kBoth},
    {Rule::UnknownSection, "unknown-section", "a per-CPU section name with a suffix that is not a canonical one", kBoth},
    {Rule::SectionCollision, "section-collision", "an ordinary symbol inside a per-CPU section of the 2006 spelling (.data.percpu*)", kBoth},
    {Rule::Misaligned, "misaligned", "a variable in an aligned per-CPU section is not on a cache line (or page)"},
    {Rule::DirectAccess, "direct-access", "code reads or writes a per-CPU variable's canonical address directly"},
    {Rule::KindMismatch, "kind-mismatch", "a reference declared per-CPU bound to ordinary data, or the reverse", kBoth},
    {Rule::TypeMismatch, "type-mismatch", "a DECLARE_PER_CPU whose type differs in size from the DEFINE_PER_CPU it binds to (DWARF, -g)"},
    {Rule::BlockBudget, "block-budget", "a per-CPU block (or the sum over modules) exceeds --max-block"},
    {Rule::HostLayout, "host-layout", "a linked host's per-CPU block is out of order, outside its bounds, or unbounded"},
    {Rule::LayoutDrift, "layout-drift", "a per-CPU variable moved or changed size against --baseline, or the block grew"},
    {Rule::UndefinedSymbol, "undefined-symbol", "a module references a symbol that no module, export or the process defines", kLoadRule},
    {Rule::DuplicateExport, "duplicate-export", "two modules export the same name", kLoadRule},
    {Rule::RelocationOverflow, "relocation-overflow", "a relocation's value does not fit its field (a -fno-pic module far from its target)", kLoadRule},
    {Rule::UnsupportedRelocation, "unsupported-relocation", "a relocation type the loader or the patcher does not implement", kBoth},
    {Rule::InitFailed, "init-failed", "a module's module_init returned non-zero, or its constructor threw", kLoadRule},
    {Rule::Load, "load", "the loader could not map, protect or register a module", kLoadRule},
    {Rule::SharedObject, "shared-object", "a shared object with per-CPU data was not linked as one (percpu_add_library, link --shared)"},
    {Rule::Internal, "internal", "patch or link built an inconsistent object (a bug in percpu-elfpatch)", kWriteRule},
};
// The table is indexed by the enum: each entry must sit at its own value.
constexpr bool tableInEnumOrder()
{
    for (unsigned i = 0; i < std::size(kRules); ++i)
        if (unsigned(kRules[i].rule) != i)
            return false;
    return std::size(kRules) == unsigned(Rule::Internal) + 1;
}
static_assert(tableInEnumOrder(), "kRules lists every Rule once, in the enum's order");
} // namespace

llvm::ArrayRef<RuleInfo> allRules() { return kRules; }

const RuleInfo &ruleInfo(Rule r) { return kRules[unsigned(r)]; }

const char *ruleId(Rule r) { return ruleInfo(r).id; }

std::optional<Rule> parseRule(llvm::StringRef id)
{
    for (const RuleInfo &r : kRules)
        if (id == r.id)
            return r.rule;
    return std::nullopt;
}

DiagnosticError::DiagnosticError(Diagnostic d) : diag(std::move(d)) {}

char DiagnosticError::ID = 0;
char RelocationRangeError::ID = 0;

const char *severityName(Severity s)
{
    switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Note: return "note";
    }
    return "error";
}

std::string Diagnostic::str() const
{
    std::string out;
    raw_string_ostream os(out);
    os << file;
    if (!section.empty()) {
        os << ":(" << section;
        if (offset)
            os << "+0x" << format_hex_no_prefix(*offset, 0);
        os << ")";
    } else if (offset) {
        os << ":(0x" << format_hex_no_prefix(*offset, 0) << ")";
    }
    os << ": " << severityName(severity) << ": " << message << " [" << ruleId(rule) << "]";
    if (source && (!source->file.empty() || !source->function.empty())) {
        os << "\n>>> referenced by ";
        if (!source->file.empty()) {
            os << source->file;
            if (source->line)
                os << ":" << source->line;
            if (source->line && source->column)
                os << ":" << source->column;
            if (!source->function.empty())
                os << " (" << source->function << ")";
        } else {
            os << file << ":(" << source->function << ")";
        }
    }
    return out;
}

void DiagnosticError::log(raw_ostream &os) const { os << diag.str(); }

std::error_code DiagnosticError::convertToErrorCode() const
{
    return std::make_error_code(std::errc::invalid_argument);
}

Error makeError(Rule rule, std::string file, std::string section,
                std::optional<uint64_t> offset, std::string symbol, std::string message)
{
    Diagnostic d;
    d.rule = rule;
    d.file = std::move(file);
    d.section = std::move(section);
    d.offset = offset;
    d.symbol = std::move(symbol);
    d.message = std::move(message);
    return make_error<DiagnosticError>(std::move(d));
}

std::vector<Diagnostic> takeDiagnostics(Error err, Rule fallbackRule,
                                        const std::string &file)
{
    std::vector<Diagnostic> out;
    handleAllErrors(
        std::move(err), [&](DiagnosticError &e) { out.push_back(e.diag); },
        [&](ErrorInfoBase &e) {
            Diagnostic d;
            d.rule = fallbackRule;
            d.file = file;
            d.message = e.message();
            out.push_back(std::move(d));
        });
    return out;
}

} // namespace percpu::elfpatch
