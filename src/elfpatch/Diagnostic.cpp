//===- Diagnostic.cpp -------------------------------------------------------===//
#include "percpu/elfpatch/Diagnostic.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace percpu::elfpatch {

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
