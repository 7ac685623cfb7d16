//===- LayoutCommand.cpp - percpu-elfpatch layout ----------------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Report.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <thread>

using namespace llvm;

namespace percpu::elfpatch::tool {

// Each file's block, in the order given: text reports one after the other,
// JSON one object (the baseline format) for one file and an array of them
// for several; the SVG draws one block, so it takes one file.  An unreadable
// file is said and skipped, and makes the exit status 2.
int runLayout(const LayoutCommand &c)
{
    const Format format = parseFormat(c.format);
    if (format == Format::Svg && c.inputs.size() != 1) {
        errs() << "percpu-elfpatch layout: error: --format svg draws one block: give one file, not "
               << c.inputs.size() << "\n";
        return kExitInput;
    }
    unsigned cpus = c.cpus ? c.cpus : std::max(1u, std::thread::hardware_concurrency());
    int rc = kExitOk;
    json::Array reports;
    bool first = true;
    for (const std::string &input : c.inputs) {
        auto f = loadFile(input);
        if (!f) {
            rc = kExitInput;
            continue;
        }
        LayoutReport r = buildLayoutReport(f->object, cpus, c.cacheline, parseAbi(c.abi));
        if (format == Format::Json)
            reports.push_back(layoutJson(r));
        else if (format == Format::Svg)
            outs() << layoutSvg(r);
        else
            outs() << (first ? "" : "\n") << layoutText(r);
        first = false;
    }
    if (format == Format::Json) {
        if (c.inputs.size() == 1 && reports.size() == 1)
            outs() << formatv("{0:2}", reports[0]) << "\n";
        else
            outs() << formatv("{0:2}", json::Value(std::move(reports))) << "\n";
    }
    return rc;
}

} // namespace percpu::elfpatch::tool
