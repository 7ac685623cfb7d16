//===- Check.h - the per-CPU layout rules for CI -------------------------===//
//
// runChecks() applies every enabled rule to a set of files read together
// (relocatable objects and linked programs), so that cross-object rules
// (kind-mismatch, block-budget totals) see all of them.  It collects every
// diagnostic; it never stops at the first.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_CHECK_H
#define PERCPU_ELFPATCH_CHECK_H

#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Kernel.h"
#include "percpu/elfpatch/Object.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace percpu::elfpatch {

struct Growth {
    uint64_t value = 0;
    bool percent = false;
};
// Parses "512" (bytes) or "10%".
std::optional<Growth> parseGrowth(const std::string &text);

// A baseline written by `layout --format json`.
struct Baseline {
    struct Var {
        std::string name, section;
        uint64_t offset = 0, size = 0;
        std::string input;       // "input", absent: ""
        unsigned occurrence = 0; // "occurrence", absent: 0
    };
    std::string file;
    uint64_t blockSize = 0;
    std::vector<Var> vars;
};
llvm::Expected<Baseline> readBaseline(const std::string &path);

struct CheckOptions {
    uint64_t cacheline = 64;
    // Unset: no budget for user-space objects, the module reserve
    // (kKernelModuleReserve) for kernel modules.
    std::optional<uint64_t> maxBlock;
    Abi abi = Abi::Auto;
    // vmlinux's per-CPU variables (--kernel-symbols), for kernel modules.
    std::optional<KernelSymbols> kernelSymbols;
    std::optional<Baseline> baseline;
    std::optional<Growth> maxGrowth;
    RuleSet disabled;
};

std::vector<Diagnostic> runChecks(const std::vector<ObjectFile> &files, const CheckOptions &options);

// The rules about one section of an object, as functions that `check` runs
// and that a loader runs alone before it maps anything: each hands what it
// finds to `emit`.
using DiagnosticSink = llvm::function_ref<void(Diagnostic)>;
// unknown-section: a per-CPU section name with a suffix that is not canonical.
void unknownSectionRule(const ObjectFile &file, const Section &section, DiagnosticSink emit);
// section-flags: a per-CPU section that is not allocated, writable,
// non-executable PROGBITS/NOBITS data.
void sectionFlagsRule(const ObjectFile &file, const Section &section, DiagnosticSink emit);
// A diagnostic of `rule` located in `file`.
Diagnostic diagnostic(Rule rule, const ObjectFile &file, std::string section,
                      std::optional<uint64_t> offset, std::string symbol, std::string message);

} // namespace percpu::elfpatch

#endif
