//===- Common.cpp - helpers shared by the subcommands -----------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Diagnostic.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace percpu::elfpatch::tool {

const char *toolVersion() { return PERCPU_VERSION; }

std::optional<LoadedFile> loadFile(const std::string &path, std::vector<Diagnostic> *sink)
{
    auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buf) {
        Diagnostic d;
        d.rule = Rule::Malformed;
        d.file = path;
        d.message = "cannot read: " + buf.getError().message();
        if (sink)
            sink->push_back(d);
        else
            errs() << d.str() << "\n";
        return std::nullopt;
    }
    auto obj = readObject(path, (*buf)->getMemBufferRef());
    if (!obj) {
        for (Diagnostic &d : takeDiagnostics(obj.takeError(), Rule::Malformed, path)) {
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

bool writeFileAtomically(const std::string &path, ArrayRef<uint8_t> bytes)
{
    SmallString<256> tmp;
    std::string dir = sys::path::parent_path(path).str();
    if (dir.empty())
        dir = ".";
    int fd;
    SmallString<256> model(dir);
    sys::path::append(model, sys::path::filename(path) + ".tmp-%%%%%%");
    if (std::error_code ec = sys::fs::createUniqueFile(model, fd, tmp)) {
        errs() << path << ": error: cannot create a temporary file in " << dir << ": "
               << ec.message() << "\n";
        return false;
    }
    {
        raw_fd_ostream os(fd, /*shouldClose=*/true);
        os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
        os.close();
        if (os.has_error()) {
            errs() << path << ": error: cannot write: " << os.error().message() << "\n";
            os.clear_error();
            sys::fs::remove(tmp);
            return false;
        }
    }
    if (std::error_code ec = sys::fs::rename(tmp, path)) {
        errs() << path << ": error: cannot rename the output into place: " << ec.message() << "\n";
        sys::fs::remove(tmp);
        return false;
    }
    return true;
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
