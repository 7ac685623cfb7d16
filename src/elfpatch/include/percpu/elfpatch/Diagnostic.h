//===- Diagnostic.h - located messages, one format everywhere --------------===//
//
// Error policy of the elfpatch library: functions that inspect objects
// collect Diagnostics and keep going where that is safe; functions that
// produce something (read, plan, patch) return llvm::Expected and fail with a
// DiagnosticError that carries the same located message.  Nothing exits.
//
// Text form, like a compiler:
//   file:(section+0xOFF): error: message [rule-id]
//   file: error: message [rule-id]            (no section)
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_DIAGNOSTIC_H
#define PERCPU_ELFPATCH_DIAGNOSTIC_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace percpu::elfpatch {

enum class Severity { Error, Warning, Note };

// Who reports a rule: `percpu-elfpatch check`, the module loader
// (pcpu_dlopen, percpu-load), both, or the commands that write objects
// (patch, link).  One list, so that a rule id means the same in a CI report
// and in a load failure; every DiagnosticError carries one of its ids (debug
// builds assert it).
enum RuleScope : unsigned { kCheckRule = 1, kLoadRule = 2, kWriteRule = 4 };
struct RuleInfo {
    const char *id;
    const char *summary;
    unsigned scope = kCheckRule;
};
// Every rule, in a stable order.
const std::vector<RuleInfo> &allRules();
// Whether `id` is a rule `check` reports (what --disable accepts).
bool isRule(const std::string &id);
// Whether `id` is a rule of any scope.
bool isKnownRule(const std::string &id);

struct Diagnostic {
    std::string rule;    // stable rule id ("malformed", "direct-access", ...)
    Severity severity = Severity::Error;
    std::string file;
    std::string section; // empty when the message is about the whole file
    std::optional<uint64_t> offset;
    std::string symbol;  // empty when none
    std::string message;

    // "file:(section+0xOFF): error: message [rule]"
    std::string str() const;
};

const char *severityName(Severity s);

// An llvm::Error carrying a Diagnostic.
class DiagnosticError : public llvm::ErrorInfo<DiagnosticError> {
public:
    static char ID;
    explicit DiagnosticError(Diagnostic d);
    void log(llvm::raw_ostream &os) const override;
    std::error_code convertToErrorCode() const override;
    Diagnostic diag;
};

// A relocation whose value does not fit its field (rule relocation-overflow),
// with the value and the range: a record callers act on (the loader's far
// path) without reading the message.
class RelocationRangeError : public llvm::ErrorInfo<RelocationRangeError, DiagnosticError> {
public:
    static char ID;
    RelocationRangeError(Diagnostic d, uint32_t type, int64_t value, int64_t lo, int64_t hi)
        : ErrorInfo(std::move(d)), type(type), value(value), lo(lo), hi(hi)
    {
    }
    uint32_t type;
    int64_t value, lo, hi;
};

// Builds a DiagnosticError.
llvm::Error makeError(std::string rule, std::string file, std::string section,
                      std::optional<uint64_t> offset, std::string symbol, std::string message);

// Moves the diagnostic(s) out of `err` (any llvm::Error; others become a
// diagnostic with rule `fallbackRule` located at `file`).
std::vector<Diagnostic> takeDiagnostics(llvm::Error err, const std::string &fallbackRule,
                                        const std::string &file);

} // namespace percpu::elfpatch

#endif
