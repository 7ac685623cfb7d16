//===- LinkCommand.cpp - percpu-elfpatch link ---------------------------------===//
//
// Combines objects into one module with `ld.lld -r` (a subprocess: lld as a
// library exits on malformed input), then patches the result.
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Patch.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/BinaryFormat/Magic.h"
#include "llvm/Object/Archive.h"
#include "llvm/Object/ArchiveWriter.h"
#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Object.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/StringSaver.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <deque>

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

namespace percpu::elfpatch::tool {
namespace {

bool isArchive(StringRef path)
{
    file_magic magic;
    return !llvm::identify_magic(path, magic) && magic == file_magic::archive;
}

// A static archive of the link command, its relocatable ELF members patched
// --indirect into a new archive at `out` (the other members as they are):
// objects a library pulls from an archive reach their per-CPU variables as
// its own objects do.  RETURNS an exit status (0: written).
int patchArchive(const std::string &in, const std::string &out)
{
    auto buf = MemoryBuffer::getFile(in, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buf) {
        errs() << in << ": error: cannot read: " << buf.getError().message() << "\n";
        return kExitInput;
    }
    auto archive = object::Archive::create((*buf)->getMemBufferRef());
    if (!archive) {
        errs() << in << ": error: not a valid archive: " << toString(archive.takeError()) << "\n";
        return kExitInput;
    }
    std::deque<std::vector<uint8_t>> patched; // the new members' bytes (stable)
    std::vector<NewArchiveMember> members;
    Error err = Error::success();
    for (const object::Archive::Child &child : (*archive)->children(err)) {
        Expected<StringRef> name = child.getName();
        if (!name) {
            errs() << in << ": error: cannot read a member's name: " << toString(name.takeError()) << "\n";
            return kExitInput;
        }
        Expected<MemoryBufferRef> member = child.getMemoryBufferRef();
        if (!member) {
            errs() << in << "(" << *name << "): error: cannot read the member: "
                   << toString(member.takeError()) << "\n";
            return kExitInput;
        }
        MemoryBufferRef bytes = *member;
        if (identify_magic(member->getBuffer()) == file_magic::elf_relocatable) {
            const std::string label = in + "(" + name->str() + ")";
            auto obj = readObject(label, *member);
            if (!obj) {
                for (const Diagnostic &d : takeDiagnostics(obj.takeError(), Rule::Malformed, label))
                    errs() << d.str() << "\n";
                return kExitInput;
            }
            ArrayRef<uint8_t> original(reinterpret_cast<const uint8_t *>(member->getBufferStart()),
                                       member->getBufferSize());
            PatchOptions opts;
            opts.indirect = true;
            auto result = patchObject(*obj, original, opts);
            if (!result) {
                bool inputProblem = false;
                for (const Diagnostic &d : takeDiagnostics(result.takeError(), Rule::Malformed, label)) {
                    errs() << d.str() << "\n";
                    inputProblem |= d.rule == Rule::Malformed;
                }
                return inputProblem ? kExitInput : kExitRule;
            }
            const std::vector<uint8_t> &kept = patched.emplace_back(std::move(result->bytes));
            bytes = MemoryBufferRef(StringRef(reinterpret_cast<const char *>(kept.data()), kept.size()), *name);
        }
        NewArchiveMember m(bytes);
        m.MemberName = *name;
        members.push_back(std::move(m));
    }
    if (err) {
        errs() << in << ": error: archive member table: " << toString(std::move(err)) << "\n";
        return kExitInput;
    }
#if LLVM_VERSION_MAJOR >= 18
    Error w = writeArchive(out, members, SymtabWritingMode::NormalSymtab, object::Archive::K_GNU,
                           /*Deterministic=*/true, /*Thin=*/false);
#else
    Error w = writeArchive(out, members, /*WriteSymtab=*/true, object::Archive::K_GNU,
                           /*Deterministic=*/true, /*Thin=*/false);
#endif
    if (w) {
        errs() << out << ": error: cannot write the patched archive: " << toString(std::move(w)) << "\n";
        return kExitInput;
    }
    return kExitOk;
}

bool isRelocatableElf(StringRef path)
{
    if (!endsWith(path, ".o") && !endsWith(path, ".obj") && !endsWith(path, ".lo"))
        return false;
    file_magic magic;
    if (llvm::identify_magic(path, magic) || magic != file_magic::elf_relocatable)
        return false;
    return true;
}

// The installed package's fragment and library directory, from this tool's
// location (PREFIX/bin/percpu-elfpatch).
bool findInstalled(std::string &script, std::string &libdir)
{
    std::string exe = sys::fs::getMainExecutable(nullptr, reinterpret_cast<void *>(&findInstalled));
    SmallString<256> prefix(exe);
    sys::path::remove_filename(prefix); // bin
    sys::path::remove_filename(prefix); // PREFIX (bin is one level)
    SmallString<256> s(prefix), l(prefix);
    sys::path::append(s, PERCPU_INSTALL_DATADIR, "percpu", "percpu-shared.ld");
    sys::path::append(l, PERCPU_INSTALL_LIBDIR);
    SmallString<256> start(l);
    sys::path::append(start, "libpercpu-library.a");
    if (!sys::fs::exists(s) || !sys::fs::exists(start))
        return false;
    script = s.str().str();
    libdir = l.str().str();
    return true;
}

} // namespace

int runLinkShared(const LinkCommand &c)
{
    const char *me = "percpu-elfpatch link --shared";
    std::vector<std::string> cmd = c.command;
    if (cmd.size() == 1 && cmd[0].empty()) {
        errs() << me << ": error: nothing after --: expected the link command\n";
        return kExitInput;
    }
    if (!cmd.empty() && (!c.inputs.empty() || !c.output.empty())) {
        errs() << me << ": error: with a command after --, the objects and -o belong to that command\n";
        return kExitInput;
    }
    if (cmd.empty()) {
        if (c.inputs.empty() || c.output.empty()) {
            errs() << me << ": error: expected -o OUTPUT and objects, or -- and a link command\n";
            return kExitInput;
        }
        std::string script, libdir;
        if (!findInstalled(script, libdir)) {
            errs() << me << ": error: percpu-shared.ld and libpercpu-library.a are not where the "
                          "installed package keeps them ("
                   << PERCPU_INSTALL_DATADIR << "/percpu and " << PERCPU_INSTALL_LIBDIR
                   << " next to this tool's " << PERCPU_INSTALL_BINDIR
                   << "); give the link command after -- instead\n";
            return kExitInput;
        }
        const char *cc = getenv("CC");
        cmd = {cc && *cc ? cc : "cc", "-shared", "-o", c.output};
        cmd.insert(cmd.end(), c.inputs.begin(), c.inputs.end());
        for (const char *flag : {"-Wl,-T,", "-Wl,-u,pcpu__library_start", "-L", "-lpercpu-library", "-lpercpu"}) {
            std::string f = flag;
            if (f == "-Wl,-T,")
                f += script;
            else if (f == "-L")
                f += libdir;
            cmd.push_back(f);
        }
    }

    // Each relocatable object of the command, patched --indirect into a
    // temporary directory: its PC-relative per-CPU address computations
    // become loads of slots that the dynamic linker relocates, and the
    // runtime moves to the object's block when it is loaded.
    SmallString<128> dir;
    if (std::error_code ec = sys::fs::createUniqueDirectory("percpu-link-shared", dir)) {
        errs() << me << ": error: cannot create a temporary directory: " << ec.message() << "\n";
        return kExitInput;
    }
    std::vector<std::string> made;
    auto cleanUp = [&] {
        for (const std::string &f : made)
            sys::fs::remove(f);
        sys::fs::remove(dir);
    };
    // One argument: an object or an archive is replaced by its patched copy
    // (`tag` keeps the copies' names apart).  RETURNS an exit status.
    unsigned tag = 0;
    auto patchArg = [&](std::string &arg) -> int {
        const bool archive = arg.size() > 2 && endsWith(arg, ".a") && isArchive(arg);
        if (!archive && !isRelocatableElf(arg))
            return kExitOk;
        SmallString<256> out(dir);
        sys::path::append(out, std::to_string(++tag) + "-" + sys::path::filename(arg).str());
        made.push_back(out.str().str());
        if (archive) {
            if (int r = patchArchive(arg, out.str().str())) {
                errs() << arg << ": nothing linked\n";
                return r;
            }
        } else {
            PatchCommand p;
            p.input = arg;
            p.output = out.str().str();
            p.indirect = true;
            if (int r = runPatch(p))
                return r;
        }
        arg = out.str().str();
        return kExitOk;
    };
    for (size_t i = 1; i < cmd.size(); ++i) {
        int r = kExitOk;
        if (cmd[i].size() > 1 && cmd[i][0] == '@' && sys::fs::exists(cmd[i].substr(1))) {
            // A response file (Ninja's, for long lines): its arguments are
            // read, patched, and written to a new one, quoted as GCC reads them.
            auto text = MemoryBuffer::getFile(cmd[i].substr(1), /*IsText=*/true);
            if (!text) {
                errs() << me << ": error: cannot read " << cmd[i].substr(1) << ": "
                       << text.getError().message() << "\n";
                cleanUp();
                return kExitInput;
            }
            BumpPtrAllocator alloc;
            StringSaver saver(alloc);
            SmallVector<const char *, 64> words;
            cl::TokenizeGNUCommandLine((*text)->getBuffer(), saver, words);
            std::string rsp;
            for (const char *w : words) {
                std::string arg = w;
                if ((r = patchArg(arg)) != kExitOk)
                    break;
                rsp += '"';
                for (char c : arg) {
                    if (c == '"' || c == '\\')
                        rsp += '\\';
                    rsp += c;
                }
                rsp += "\" ";
            }
            if (r == kExitOk) {
                SmallString<256> out(dir);
                sys::path::append(out, std::to_string(++tag) + ".rsp");
                made.push_back(out.str().str());
                std::error_code ec;
                raw_fd_ostream os(out, ec);
                if (!ec) {
                    os << rsp << "\n";
                    os.close();
                    ec = os.error();
                }
                if (ec) {
                    errs() << me << ": error: cannot write " << out << ": " << ec.message() << "\n";
                    r = kExitInput;
                } else {
                    cmd[i] = "@" + out.str().str();
                }
            }
        } else {
            r = patchArg(cmd[i]);
        }
        if (r != kExitOk) {
            cleanUp();
            return r;
        }
    }
    std::string program = cmd[0];
    if (program.find('/') == std::string::npos) {
        auto found = sys::findProgramByName(program);
        if (!found) {
            errs() << me << ": error: " << program << " not found on PATH\n";
            cleanUp();
            return kExitInput;
        }
        program = *found;
    }
    std::vector<StringRef> args(cmd.begin(), cmd.end());
    std::string err;
#if LLVM_VERSION_MAJOR >= 16
    int rc = sys::ExecuteAndWait(program, args, std::nullopt, {}, 0, 0, &err);
#else
    int rc = sys::ExecuteAndWait(program, args, llvm::None, {}, 0, 0, &err);
#endif
    cleanUp();
    if (rc != 0) {
        errs() << me << ": error: the link command failed"
               << (err.empty() ? " (exit " + std::to_string(rc) + ")" : ": " + err) << "\n";
        return kExitInput;
    }
    return kExitOk;
}

} // namespace percpu::elfpatch::tool
