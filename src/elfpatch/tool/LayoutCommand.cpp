//===- LayoutCommand.cpp - percpu-elfpatch layout ----------------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Report.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <thread>

using namespace llvm;

namespace percpu::elfpatch::tool {

int runLayout(const LayoutCommand &c)
{
    auto f = loadFile(c.input);
    if (!f)
        return kExitInput;
    unsigned cpus = c.cpus ? c.cpus : std::max(1u, std::thread::hardware_concurrency());
    LayoutReport r = buildLayoutReport(f->object, cpus, c.cacheline, parseAbi(c.abi));
    const Format format = parseFormat(c.format);
    if (format == Format::Json)
        outs() << formatv("{0:2}", layoutJson(r)) << "\n";
    else if (format == Format::Svg)
        outs() << layoutSvg(r);
    else
        outs() << layoutText(r);
    return kExitOk;
}

} // namespace percpu::elfpatch::tool
