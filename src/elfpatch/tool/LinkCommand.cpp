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
    // Every input must be a relocatable object for one supported machine
    // before ld.lld sees it: ld.lld takes an empty, text or truncated file
    // for a linker script and says so in its own terms.
    bool bad = false;
    uint16_t machine = 0;
    std::string first;
    for (const std::string &in : c.inputs) {
        auto f = loadFile(in);
        if (!f) {
            bad = true;
            continue;
        }
        if (!f->object.isRelocatable()) {
            errs() << in << ": error: not a relocatable object (ET_REL): link combines the "
                          "objects a module is compiled from [malformed]\n";
            bad = true;
        } else if (first.empty()) {
            machine = f->object.machine;
            first = in;
        } else if (f->object.machine != machine) {
            errs() << in << ": error: object is for " << machineName(f->object.machine) << ", "
                   << first << " for " << machineName(machine) << " [malformed]\n";
            bad = true;
        }
    }
    if (bad) {
        errs() << "percpu-elfpatch link: nothing written to " << c.output << "\n";
        return kExitInput;
    }
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
    // Diagnostics of the patch step name the module being made and what it
    // is made of, not the temporary file.
    std::string name = c.output + " (ld -r of ";
    for (size_t i = 0; i < c.inputs.size() && i < 3; ++i)
        name += (i ? ", " : "") + c.inputs[i];
    if (c.inputs.size() > 3)
        name += " and " + std::to_string(c.inputs.size() - 3) + " more";
    name += ")";
    PatchCommand p;
    p.input = tmp.str().str();
    p.name = name;
    p.output = c.output;
    p.indirect = c.indirect;
    int r = runPatch(p);
    return r;
}

} // namespace percpu::elfpatch::tool
