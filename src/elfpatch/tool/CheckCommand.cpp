//===- CheckCommand.cpp - percpu-elfpatch check ------------------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Report.h"
#include "percpu/elfpatch/Source.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace llvm;

namespace percpu::elfpatch::tool {

int runCheck(const CheckCommand &c)
{
    CheckOptions opts;
    opts.cacheline = c.cacheline;
    opts.abi = parseAbi(c.abi);
    if (!c.kernelSymbols.empty()) {
        auto ks = readKernelSymbols(c.kernelSymbols);
        if (!ks) {
            for (const Diagnostic &d : takeDiagnostics(ks.takeError(), Rule::Malformed, c.kernelSymbols.front()))
                errs() << d.str() << "\n";
            return kExitInput;
        }
        opts.kernelSymbols = std::move(*ks);
    }
    for (const std::string &id : c.disable) {
        std::optional<Rule> r = parseRule(id);
        if (!r || !isCheckRule(*r)) {
            errs() << "percpu-elfpatch check: error: --disable " << id << ": no such rule (see --help)\n";
            return kExitInput;
        }
        opts.disabled.insert(*r);
    }
    if (!c.maxBlock.empty()) {
        opts.maxBlock = parseBytes(c.maxBlock);
        if (!opts.maxBlock) {
            errs() << "percpu-elfpatch check: error: --max-block " << c.maxBlock
                   << ": expected a byte count such as 8192 or 8K\n";
            return kExitInput;
        }
    }
    if (!c.maxGrowth.empty()) {
        if (c.baseline.empty()) {
            errs() << "percpu-elfpatch check: error: --max-growth " << c.maxGrowth
                   << " needs --baseline (the layout to grow from)\n";
            return kExitInput;
        }
        opts.maxGrowth = parseGrowth(c.maxGrowth);
        if (!opts.maxGrowth) {
            errs() << "percpu-elfpatch check: error: --max-growth " << c.maxGrowth
                   << ": expected bytes (512) or a percentage (10%)\n";
            return kExitInput;
        }
    }
    if (!c.baseline.empty()) {
        auto b = readBaseline(c.baseline);
        if (!b) {
            for (const Diagnostic &d : takeDiagnostics(b.takeError(), Rule::LayoutDrift, c.baseline))
                errs() << d.str() << "\n";
            return kExitInput;
        }
        opts.baseline = std::move(*b);
    }

    std::vector<Diagnostic> diags;
    std::vector<LoadedFile> loaded;
    bool unreadable = false;
    for (const std::string &path : c.inputs) {
        std::vector<Diagnostic> readDiags;
        bool cannotRead = false, bad = false;
        // An archive is checked member by member, as libx.a(member.o).
        std::vector<LoadedFile> files = loadInput(path, readDiags, cannotRead, bad);
        // --disable malformed skips inputs that are not valid objects; an
        // input that is missing or cannot be read always fails.
        if (bad && (cannotRead || !opts.disabled.contains(Rule::Malformed))) {
            unreadable = true;
            diags.insert(diags.end(), readDiags.begin(), readDiags.end());
        }
        for (LoadedFile &f : files)
            loaded.push_back(std::move(f));
    }
    std::vector<ObjectFile> objects;
    for (LoadedFile &f : loaded)
        objects.push_back(std::move(f.object));
    std::vector<Diagnostic> found = runChecks(objects, opts);
    // Where in the source each diagnostic in code is (DWARF, read in a child
    // process: a damaged object costs the line numbers, never the check).
    attachSourceLocations(found, objects);
    // Declarations against definitions, from DWARF (in a child as well).
    if (!opts.disabled.contains(Rule::TypeMismatch))
        for (Diagnostic &d : typeMismatches(objects))
            found.push_back(std::move(d));
    diags.insert(diags.end(), found.begin(), found.end());

    const Format format = parseFormat(c.format);
    std::string report;
    if (format == Format::Json)
        report = formatv("{0:2}", diagnosticsJson(diags, c.inputs.size())).str() + "\n";
    else if (format == Format::Sarif)
        report = formatv("{0:2}", diagnosticsSarif(diags, toolVersion())).str() + "\n";
    else
        report = diagnosticsText(diags, c.output.empty() ? c.errorLimit : 0); // a file gets all
    if (c.output.empty()) {
        outs() << report;
    } else {
        // The report goes to the file (whole or not at all); a build log or a
        // terminal still gets the diagnostics as text.
        if (!writeFileAtomically(c.output, ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(report.data()),
                                                              report.size())))
            return kExitInput;
        if (format != Format::Text)
            outs() << diagnosticsText(diags, c.errorLimit);
    }
    if (unreadable)
        return kExitInput;
    // Only errors fail the check: warnings and notes (what was not covered)
    // inform.
    bool failed = std::any_of(found.begin(), found.end(),
                              [](const Diagnostic &d) { return d.severity == Severity::Error; });
    return failed ? kExitRule : kExitOk;
}

} // namespace percpu::elfpatch::tool
