//===- PatchCommand.cpp - percpu-elfpatch patch ------------------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Kernel.h"
#include "percpu/elfpatch/Patch.h"

#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace percpu::elfpatch::tool {

int runPatch(const PatchCommand &c)
{
    const std::string &input = c.name.empty() ? c.input : c.name;
    auto f = loadFile(c.input, nullptr, nullptr, input);
    if (!f) {
        errs() << input << ": nothing written to " << c.output << "\n";
        return kExitInput;
    }
    if (c.indirect && usesKernelModel(f->object, parseAbi(c.abi))) {
        errs() << input << ": error: --indirect is for user-space modules: a kernel module reaches "
                  "its per-CPU block through a base register (%gs or tpidr_el1 plus the CPU's "
                  "offset), wherever the kernel puts it; run patch without --indirect (or pass "
                  "--abi user if this is not a kernel module)\n"
               << input << ": nothing written to " << c.output << "\n";
        return kExitInput;
    }
    ArrayRef<uint8_t> original(reinterpret_cast<const uint8_t *>(f->buffer->getBufferStart()),
                               f->buffer->getBufferSize());
    PatchOptions opts;
    opts.indirect = c.indirect;
    opts.kernel = usesKernelModel(f->object, parseAbi(c.abi));
    auto result = patchObject(f->object, original, opts);
    if (!result) {
        bool inputProblem = false;
        for (const Diagnostic &d : takeDiagnostics(result.takeError(), Rule::Malformed, input)) {
            errs() << d.str() << "\n";
            inputProblem |= d.rule == Rule::Malformed;
        }
        errs() << input << ": nothing written to " << c.output << "\n";
        return inputProblem ? kExitInput : kExitRule;
    }
    if (!writeFileAtomically(c.output, result->bytes))
        return kExitInput;
    if (c.verbose) {
        outs() << c.output << ": ";
        if (!result->changed)
            outs() << "unchanged";
        else
            outs() << "per-CPU block " << result->layout.size << " bytes in "
                   << result->layout.sections.size() << " section(s) merged";
        if (c.indirect)
            outs() << ", " << result->rewritten << " reference(s) made indirect through "
                   << result->slots << " slot(s)";
        outs() << "\n";
    }
    return kExitOk;
}

} // namespace percpu::elfpatch::tool
