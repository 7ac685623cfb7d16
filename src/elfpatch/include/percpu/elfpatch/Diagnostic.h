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

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace percpu::elfpatch {

enum class Severity { Error, Warning, Note };

// The rules, one id each.  Code compares the enum; the text spelling
// ("section-flags") exists only at the boundaries: a diagnostic's text and
// reports (ruleId), --disable and the layout baseline's input (parseRule).
enum class Rule : uint8_t {
    Malformed,
    SectionFlags,
    UnknownSection,
    SectionCollision,
    Misaligned,
    DirectAccess,
    KindMismatch,
    TypeMismatch,
    BlockBudget,
    HostLayout,
    LayoutDrift,
    UndefinedSymbol,
    DuplicateExport,
    RelocationOverflow,
    UnsupportedRelocation,
    InitFailed,
    Load,
    SharedObject,
    Internal,
};

// Who reports a rule: `percpu-elfpatch check`, the module loader
// (pcpu_dlopen, percpu-load), both, or the commands that write objects
// (patch, link).  One list, so that a rule id means the same in a CI report
// and in a load failure.
enum RuleScope : unsigned { kCheckRule = 1, kLoadRule = 2, kWriteRule = 4 };
struct RuleInfo {
    Rule rule;
    const char *id;
    const char *summary;
    unsigned scope = kCheckRule;
};
// Every rule, in the enum's order (stable: reports list rules in it).
llvm::ArrayRef<RuleInfo> allRules();
const RuleInfo &ruleInfo(Rule r);
// The rule's id, as diagnostics and reports spell it ("section-flags").
const char *ruleId(Rule r);
// The rule spelled `id` (any scope), or nullopt.
std::optional<Rule> parseRule(llvm::StringRef id);
// Whether `check` reports rule `r` (what --disable accepts).
inline bool isCheckRule(Rule r) { return (ruleInfo(r).scope & kCheckRule) != 0; }

// A set of rules (check's --disable).
class RuleSet {
public:
    void insert(Rule r) { bits_ |= uint32_t{1} << unsigned(r); }
    bool contains(Rule r) const { return (bits_ >> unsigned(r)) & 1; }
    bool empty() const { return bits_ == 0; }

private:
    uint32_t bits_ = 0;
    static_assert(unsigned(Rule::Internal) < 32, "RuleSet holds 32 rules");
};

// Where in the source a diagnostic's place is (SourceLocator fills it).
struct SourceLocation {
    std::string file;     // from DWARF's line table; empty without -g
    uint32_t line = 0;    // 0: unknown
    uint32_t column = 0;  // 0: unknown
    std::string function; // DWARF's subprogram, else the symbol table's; may be empty
};

struct Diagnostic {
    Rule rule = Rule::Internal; // set by whoever reports; a forgotten one shows as a bug
    Severity severity = Severity::Error;
    std::string file;
    std::string section; // empty when the message is about the whole file
    std::optional<uint64_t> offset;
    std::string symbol;  // empty when none
    std::string message;
    std::optional<SourceLocation> source; // code places, when check could tell
    // The code offset (in `section`) whose source place `source` tells, when
    // it is not `offset`: the instruction that dereferences what the one
    // holding the relocation loaded.
    std::optional<uint64_t> sourceOffset;

    // "file:(section+0xOFF): error: message [rule]", then, for a place in
    // code, lld's second line: ">>> referenced by fp.c:5:3 (reset_all)"
    // (with -g), or ">>> referenced by fp.o:(reset_all)" (without).
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
llvm::Error makeError(Rule rule, std::string file, std::string section,
                      std::optional<uint64_t> offset, std::string symbol, std::string message);

// Moves the diagnostic(s) out of `err` (any llvm::Error; others become a
// diagnostic with rule `fallbackRule` located at `file`).
std::vector<Diagnostic> takeDiagnostics(llvm::Error err, Rule fallbackRule,
                                        const std::string &file);

} // namespace percpu::elfpatch

#endif
