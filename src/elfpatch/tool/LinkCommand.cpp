//===- LinkCommand.cpp - percpu-elfpatch link ---------------------------------===//
//
// Combines objects into one module with `ld.lld -r` (a subprocess: lld as a
// library exits on malformed input), then patches the result.
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Patch.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace percpu::elfpatch::tool {

int runLink(const LinkCommand &c)
{
    std::string ld = c.ld;
    if (ld.empty()) {
        if (auto p = sys::findProgramByName("ld.lld"))
            ld = *p;
        else if (auto q = sys::findProgramByName("ld.lld", {PERCPU_LLVM_BINDIR}))
            ld = *q;
    }
    if (ld.empty() || !sys::fs::can_execute(ld)) {
        errs() << "percpu-elfpatch link: error: "
               << (c.ld.empty() ? std::string("ld.lld not found on PATH nor in " PERCPU_LLVM_BINDIR)
                                : "--ld " + c.ld + " is not an executable")
               << "\n";
        return kExitInput;
    }
    SmallString<256> tmp;
    if (std::error_code ec = sys::fs::createTemporaryFile("percpu-link", "o", tmp)) {
        errs() << "percpu-elfpatch link: error: cannot create a temporary file: " << ec.message() << "\n";
        return kExitInput;
    }
    FileRemover remover(tmp);
    std::vector<StringRef> args = {ld, "-r", "-o", tmp};
    for (const std::string &in : c.inputs)
        args.push_back(in);
    std::string err;
#if LLVM_VERSION_MAJOR >= 16
    int rc = sys::ExecuteAndWait(ld, args, std::nullopt, {}, 0, 0, &err);
#else
    int rc = sys::ExecuteAndWait(ld, args, llvm::None, {}, 0, 0, &err);
#endif
    if (rc != 0) {
        errs() << "percpu-elfpatch link: error: " << ld << " -r failed"
               << (err.empty() ? " (exit " + std::to_string(rc) + ")" : ": " + err) << "\n";
        return kExitInput;
    }
    PatchCommand p;
    p.input = tmp.str().str();
    p.output = c.output;
    p.indirect = c.indirect;
    int r = runPatch(p);
    return r;
}

} // namespace percpu::elfpatch::tool
