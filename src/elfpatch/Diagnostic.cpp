//===- Diagnostic.cpp -------------------------------------------------------===//
#include "percpu/elfpatch/Diagnostic.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cassert>

using namespace llvm;

namespace percpu::elfpatch {

const std::vector<RuleInfo> &allRules()
{
    constexpr unsigned both = kCheckRule | kLoadRule;
    static const std::vector<RuleInfo> rules = {
        {"malformed", "the file is not valid ELF, or a table, offset or index points outside it", both},
        {"section-flags", "a per-CPU section is not allocated, writable, non-executable data", both},
        {"unknown-section", "a per-CPU section name with a suffix that is not a canonical one", both},
        {"section-collision", "an ordinary symbol inside a per-CPU section of the 2006 spelling (.data.percpu*)", both},
        {"misaligned", "a variable in an aligned per-CPU section is not on a cache line (or page)"},
        {"direct-access", "code reads or writes a per-CPU variable's canonical address directly"},
        {"kind-mismatch", "a reference declared per-CPU bound to ordinary data, or the reverse", both},
        {"block-budget", "a per-CPU block (or the sum over modules) exceeds --max-block"},
        {"host-layout", "a linked host's per-CPU block is out of order, outside its bounds, or unbounded"},
        {"layout-drift", "a per-CPU variable moved or changed size against --baseline, or the block grew"},
        {"undefined-symbol", "a module references a symbol that no module, export or the process defines", kLoadRule},
        {"duplicate-export", "two modules export the same name", kLoadRule},
        {"relocation-overflow", "a relocation's value does not fit its field (a -fno-pic module far from its target)", kLoadRule},
        {"unsupported-relocation", "a relocation type the loader or the patcher does not implement", both},
        {"init-failed", "a module's module_init returned non-zero, or its constructor threw", kLoadRule},
        {"load", "the loader could not map, protect or register a module", kLoadRule},
        {"internal", "patch or link built an inconsistent object (a bug in percpu-elfpatch)", kWriteRule},
    };
    return rules;
}

bool isRule(const std::string &id)
{
    for (const RuleInfo &r : allRules())
        if (id == r.id)
            return (r.scope & kCheckRule) != 0;
    return false;
}

bool isKnownRule(const std::string &id)
{
    for (const RuleInfo &r : allRules())
        if (id == r.id)
            return true;
    return false;
}

DiagnosticError::DiagnosticError(Diagnostic d) : diag(std::move(d))
{
    assert(isKnownRule(diag.rule) && "a diagnostic's rule must be in allRules()");
}

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
    os << ": " << severityName(severity) << ": " << message;
    if (!rule.empty())
        os << " [" << rule << "]";
    return out;
}

void DiagnosticError::log(raw_ostream &os) const { os << diag.str(); }

std::error_code DiagnosticError::convertToErrorCode() const
{
    return std::make_error_code(std::errc::invalid_argument);
}

Error makeError(std::string rule, std::string file, std::string section,
                std::optional<uint64_t> offset, std::string symbol, std::string message)
{
    Diagnostic d;
    d.rule = std::move(rule);
    d.file = std::move(file);
    d.section = std::move(section);
    d.offset = offset;
    d.symbol = std::move(symbol);
    d.message = std::move(message);
    return make_error<DiagnosticError>(std::move(d));
}

std::vector<Diagnostic> takeDiagnostics(Error err, const std::string &fallbackRule,
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
