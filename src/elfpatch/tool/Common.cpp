//===- Common.cpp - helpers shared by the subcommands -----------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Diagnostic.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/BinaryFormat/Magic.h"
#include "llvm/Object/Archive.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;

namespace percpu::elfpatch::tool {

const char *toolVersion() { return PERCPU_VERSION; }

std::optional<LoadedFile> loadFile(const std::string &path, std::vector<Diagnostic> *sink, bool *cannotRead,
                                   const std::string &nameGiven)
{
    const std::string &name = nameGiven.empty() ? path : nameGiven;
    auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (cannotRead)
        *cannotRead = !buf;
    if (!buf) {
        Diagnostic d;
        d.rule = Rule::Malformed;
        d.file = name;
        d.message = "cannot read: " + buf.getError().message();
        if (sink)
            sink->push_back(d);
        else
            errs() << d.str() << "\n";
        return std::nullopt;
    }
    auto obj = readObject(name, (*buf)->getMemBufferRef());
    if (!obj) {
        for (Diagnostic &d : takeDiagnostics(obj.takeError(), Rule::Malformed, name)) {
            if (sink)
                sink->push_back(d);
            else
                errs() << d.str() << "\n";
        }
        return std::nullopt;
    }
    LoadedFile f;
    f.buffer = std::move(*buf);
    f.object = std::move(*obj);
    return f;
}

std::vector<LoadedFile> loadInput(const std::string &path, std::vector<Diagnostic> &sink,
                                  bool &cannotRead, bool &bad)
{
    cannotRead = bad = false;
    std::vector<LoadedFile> out;
    auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buf || identify_magic((*buf)->getBuffer()) != file_magic::archive) {
        // Not an archive (or unreadable: loadFile says so).
        auto f = loadFile(path, &sink, &cannotRead);
        bad = !f;
        if (f)
            out.push_back(std::move(*f));
        return out;
    }
    std::shared_ptr<MemoryBuffer> archiveBuffer = std::move(*buf);
    auto fail = [&](const std::string &name, std::string why) {
        Diagnostic d;
        d.rule = Rule::Malformed;
        d.file = name;
        d.message = std::move(why);
        sink.push_back(std::move(d));
        bad = true;
    };
    auto archive = object::Archive::create(archiveBuffer->getMemBufferRef());
    if (!archive) {
        fail(path, "not a valid archive: " + toString(archive.takeError()));
        return out;
    }
    Error err = Error::success();
    unsigned index = 0;
    for (const object::Archive::Child &child : (*archive)->children(err)) {
        ++index;
        Expected<StringRef> memberName = child.getName();
        std::string name = path + "(" + (memberName ? memberName->str() : "#" + std::to_string(index)) + ")";
        if (!memberName)
            consumeError(memberName.takeError());
        Expected<MemoryBufferRef> member = child.getMemoryBufferRef();
        if (!member) {
            fail(name, "cannot read the member: " + toString(member.takeError()));
            continue;
        }
        auto obj = readObject(name, *member);
        if (!obj) {
            for (Diagnostic &d : takeDiagnostics(obj.takeError(), Rule::Malformed, name))
                sink.push_back(std::move(d));
            bad = true;
            continue;
        }
        LoadedFile f;
        f.buffer = archiveBuffer; // the member's bytes live in it
        f.object = std::move(*obj);
        out.push_back(std::move(f));
    }
    if (err)
        fail(path, "archive member table: " + toString(std::move(err)));
    return out;
}

namespace {

// Writes `bytes` through an open descriptor, then closes it.  False, with the
// message printed, on any failed write or close.
bool writeAndClose(int fd, const std::string &path, ArrayRef<uint8_t> bytes)
{
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    os.close();
    if (os.has_error()) {
        errs() << path << ": error: cannot write: " << os.error().message() << "\n";
        os.clear_error();
        return false;
    }
    return true;
}

// Opens what `path` names for writing, following symbolic links and creating
// the file at the end of a dangling one, as cp does; never replaces it.
bool writeThrough(const std::string &path, ArrayRef<uint8_t> bytes, bool create)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0666);
    if (fd < 0) {
        errs() << path << ": error: cannot open for writing: " << std::strerror(errno) << "\n";
        return false;
    }
    return writeAndClose(fd, path, bytes);
}

} // namespace

bool writeFileAtomically(const std::string &path, ArrayRef<uint8_t> bytes)
{
    // What the path leads to decides how it is written:
    //  - a regular file (through any symbolic links): replaced whole by a
    //    rename from a temporary file beside it, so a failure leaves it as
    //    it was; a symbolic link stays a link, its target is replaced;
    //  - anything else that exists (a terminal, /dev/null, /dev/stdout, a
    //    pipe): written through, never replaced (as root, a rename over
    //    /dev/null would destroy it); a directory is refused;
    //  - a dangling symbolic link: the file it names is created, as cp does;
    //  - nothing: created by the rename.
    struct stat st;
    std::string target = path;
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            errs() << path << ": error: is a directory\n";
            return false;
        }
        if (!S_ISREG(st.st_mode))
            return writeThrough(path, bytes, /*create=*/false);
        SmallString<256> real;
        if (!sys::fs::real_path(path, real))
            target = real.str().str();
    } else if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        return writeThrough(path, bytes, /*create=*/true);
    }
    SmallString<256> tmp;
    std::string dir = sys::path::parent_path(target).str();
    if (dir.empty())
        dir = ".";
    int fd;
    SmallString<256> model(dir);
    sys::path::append(model, sys::path::filename(target) + ".tmp-%%%%%%");
    if (std::error_code ec = sys::fs::createUniqueFile(model, fd, tmp)) {
        errs() << path << ": error: cannot create a temporary file in " << dir << ": "
               << ec.message() << "\n";
        return false;
    }
    if (!writeAndClose(fd, path, bytes)) {
        sys::fs::remove(tmp);
        return false;
    }
    if (std::error_code ec = sys::fs::rename(tmp, target)) {
        errs() << path << ": error: cannot rename the output into place: " << ec.message() << "\n";
        sys::fs::remove(tmp);
        return false;
    }
    return true;
}

bool flushStandardOutput(const char *tool)
{
    outs().flush();
    if (!outs().has_error())
        return true;
    errs() << tool << ": error: cannot write to standard output: " << outs().error().message() << "\n";
    outs().clear_error();
    return false;
}

std::optional<uint64_t> parseBytes(const std::string &text)
{
    StringRef s(text);
    uint64_t mult = 1;
    if (s.consume_back("K") || s.consume_back("k"))
        mult = 1024;
    else if (s.consume_back("M") || s.consume_back("m"))
        mult = 1024 * 1024;
    uint64_t v;
    if (s.empty() || s.getAsInteger(0, v))
        return std::nullopt;
    return v * mult;
}

Format parseFormat(const std::string &text)
{
    return text == "json" ? Format::Json : text == "sarif" ? Format::Sarif : text == "svg" ? Format::Svg : Format::Text;
}

Abi parseAbi(const std::string &text)
{
    return text == "kernel" ? Abi::Kernel : text == "user" ? Abi::User : Abi::Auto;
}

} // namespace percpu::elfpatch::tool
