//===- Kernel.cpp - the kernel's per-CPU model (see Kernel.h) ----------------===//
#include "percpu/elfpatch/Kernel.h"
#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Layout.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>

using namespace llvm;
using namespace llvm::ELF;

namespace percpu::elfpatch {

bool isKernelModule(const ObjectFile &obj)
{
    if (!obj.isRelocatable())
        return false;
    for (const Section &s : obj.sections)
        if (s.name == ".modinfo" || s.name == ".gnu.linkonce.this_module" || startsWith(s.name, "__ksymtab"))
            return true;
    return false;
}

bool usesKernelModel(const ObjectFile &obj, Abi abi)
{
    return abi == Abi::Kernel || (abi == Abi::Auto && isKernelModule(obj));
}

KernelAllocation kernelAllocation(const ObjectFile &obj, const BlockLayout &layout)
{
    KernelAllocation a;
    a.size = layout.size;
    for (const PlacedSection &p : layout.sections)
        a.align = std::max<uint64_t>(a.align, std::max<uint64_t>(1, obj.sections[p.section].addralign));
    return a;
}

namespace {

Error fail(const std::string &path, const std::string &why)
{
    return makeError(Rule::Malformed, path, "", std::nullopt, "", "--kernel-symbols: " + why);
}

// System.map: "ffffffff81000000 T _stext".  Per-CPU variables are the data
// symbols inside [__per_cpu_start, __per_cpu_end) (zero-based on x86-64,
// ordinary addresses on arm64).
Error readSystemMap(const std::string &path, StringRef text, KernelSymbols &out)
{
    struct Entry {
        uint64_t addr;
        char type;
        StringRef name;
    };
    std::vector<Entry> entries;
    std::optional<uint64_t> start, end;
    size_t lineNo = 0;
    if (text.contains("The real System.map is in"))
        return fail(path, "a placeholder, not a symbol map (Debian ships the real System.map in the "
                          "linux-image-*-dbg package, or use that package's vmlinux)");
    for (StringRef rest = text; !rest.empty();) {
        StringRef line;
        std::tie(line, rest) = rest.split('\n');
        ++lineNo;
        line = line.trim();
        if (line.empty())
            continue;
        SmallVector<StringRef, 4> f;
        line.split(f, ' ', -1, false);
        uint64_t addr;
        if (f.size() < 3 || f[1].size() != 1 || f[0].getAsInteger(16, addr))
            return fail(path, "line " + std::to_string(lineNo) + " is not 'ADDRESS TYPE NAME': '" +
                                  line.take_front(80).str() + "'");
        entries.push_back({addr, f[1][0], f[2]});
        if (f[2] == "__per_cpu_start")
            start = addr;
        else if (f[2] == "__per_cpu_end")
            end = addr;
    }
    if (!start || !end || *end < *start)
        return fail(path, "no __per_cpu_start/__per_cpu_end pair: not a System.map of an SMP kernel");
    for (const Entry &e : entries) {
        if (startsWith(e.name, "__per_cpu_"))
            continue;
        bool data = strchr("dDbBrRvVgGsS", e.type) != nullptr;
        if (data && e.addr >= *start && e.addr < *end)
            out.perCpu.insert(e.name.str());
        else if (e.type != 'a' && e.type != 'A')
            out.ordinary.insert(e.name.str());
    }
    return Error::success();
}

// Module.symvers: "0xCRC<TAB>name<TAB>module<TAB>EXPORT_SYMBOL[<TAB>ns]".
Error readSymvers(const std::string &path, StringRef text, KernelSymbols &out)
{
    size_t lineNo = 0;
    for (StringRef rest = text; !rest.empty();) {
        StringRef line;
        std::tie(line, rest) = rest.split('\n');
        ++lineNo;
        if (line.trim().empty())
            continue;
        SmallVector<StringRef, 5> f;
        line.split(f, '\t');
        if (f.size() < 4 || !startsWith(f[0], "0x"))
            return fail(path, "line " + std::to_string(lineNo) + " is not a Module.symvers entry");
        out.exported.insert(f[1].str());
    }
    return Error::success();
}

Error readVmlinux(const std::string &path, MemoryBufferRef buf, KernelSymbols &out)
{
    auto obj = readObject(path, buf);
    if (!obj)
        return obj.takeError();
    std::optional<uint64_t> start, end;
    const BlockBounds b = blockBounds(*obj);
    if (b.start)
        start = b.start->value;
    if (b.end)
        end = b.end->value;
    for (const Symbol &s : obj->symbols) {
        if (s.name.empty() || s.type == STT_SECTION || s.type == STT_FILE || !s.isDefinedInSection() ||
            startsWith(s.name, "__per_cpu_"))
            continue;
        bool inSection = s.shndx < obj->sections.size() && isPerCpuDataSection(obj->sections[s.shndx]);
        bool inBounds = start && end && s.value >= *start && s.value < *end && s.type == STT_OBJECT;
        (inSection || inBounds ? out.perCpu : out.ordinary).insert(s.name);
    }
    if (out.perCpu.empty())
        return fail(path, "no per-CPU symbols: not a vmlinux with symbols (or not SMP)");
    return Error::success();
}

} // namespace

Expected<KernelSymbols> readKernelSymbols(const std::vector<std::string> &paths)
{
    KernelSymbols out;
    for (const std::string &path : paths) {
        auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
        if (!buf)
            return fail(path, "cannot read: " + buf.getError().message());
        StringRef text = (*buf)->getBuffer();
        Error e = Error::success();
        if (startsWith(text, "\x7f" "ELF"))
            e = readVmlinux(path, (*buf)->getMemBufferRef(), out);
        else if (startsWith(text, "0x"))
            e = readSymvers(path, text, out);
        else
            e = readSystemMap(path, text, out);
        if (e)
            return e;
        out.files.push_back(path);
    }
    if (out.perCpu.empty())
        return fail(paths.empty() ? "" : paths.front(),
                    "Module.symvers alone does not say which symbols are per-CPU: add System.map or vmlinux");
    for (const std::string &n : out.perCpu)
        out.ordinary.erase(n);
    return out;
}

} // namespace percpu::elfpatch
