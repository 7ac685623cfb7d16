//===- Report.h - layout maps and diagnostics as text, JSON and SARIF ----===//
#ifndef PERCPU_ELFPATCH_REPORT_H
#define PERCPU_ELFPATCH_REPORT_H

#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Kernel.h"
#include "percpu/elfpatch/Layout.h"
#include "percpu/elfpatch/Object.h"

#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace percpu::elfpatch {

// One row of the block map.
struct LayoutRow {
    std::string name;
    std::string section;     // group name for objects, output section for programs
    uint64_t offset = 0, size = 0, align = 1, paddingBefore = 0;
    uint64_t firstLine = 0, lastLine = 0; // cache lines (offset / cacheline)
    std::string input;       // PlacedSymbol::input
    unsigned occurrence = 0; // PlacedSymbol::occurrence
    // Functions whose code refers to the variable (objects only): the
    // "contexts" that may write it, for the false-sharing picture.
    std::vector<std::string> users;
};

struct LayoutReport {
    std::string file;
    bool program = false;
    bool sharedObject = false; // a linked shared object (a program without .interp)
    uint64_t blockSize = 0, blockAlign = 1, padding = 0;
    unsigned cpus = 1;
    uint64_t cacheline = 64;
    std::vector<LayoutRow> rows;
    // A reordering (per group: by alignment, then size, descending) and the
    // padding it would leave; empty when it saves nothing.
    std::vector<std::string> reorder;
    uint64_t reorderPadding = 0;
    // A kernel module: what the kernel allocates from its module reserve.
    bool kernel = false;
    uint64_t kernelSize = 0, kernelAlign = 1, reserve = 0;
};

LayoutReport buildLayoutReport(const ObjectFile &obj, unsigned cpus, uint64_t cacheline,
                               Abi abi = Abi::Auto);
std::string layoutText(const LayoutReport &r);
llvm::json::Value layoutJson(const LayoutReport &r);
// The block as cache lines, pahole-style: a standalone SVG document.
std::string layoutSvg(const LayoutReport &r);
// Cache lines holding two variables referred to from different functions
// (and not read-mostly): candidates for false sharing between contexts.
std::vector<std::pair<uint64_t, std::pair<std::string, std::string>>> falseSharingCandidates(
    const LayoutReport &r);

// At most `errorLimit` errors (0: all), then one line saying how many more
// there are, as compilers do; warnings and notes are not counted.
std::string diagnosticsText(const std::vector<Diagnostic> &diags, unsigned errorLimit = 0);
llvm::json::Value diagnosticsJson(const std::vector<Diagnostic> &diags, size_t files);
llvm::json::Value diagnosticsSarif(const std::vector<Diagnostic> &diags, const std::string &version);

} // namespace percpu::elfpatch

#endif
