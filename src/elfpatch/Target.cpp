//===- Target.cpp - what every Target shares, and the choice of one -------===//
#include "percpu/elfpatch/Target.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/BinaryFormat/ELF.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace percpu::elfpatch {

Target::~Target() = default;

llvm::Error Target::rangeError(uint32_t type, int64_t value, int64_t lo, int64_t hi,
                               llvm::function_ref<Diagnostic()> where) const
{
    Diagnostic d = where();
    d.rule = Rule::RelocationOverflow;
    // Hexadecimal, as addresses are read (a sign for negative values).
    auto hex = [](int64_t v) {
        uint64_t m = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        return (v < 0 ? "-0x" : "0x") + llvm::utohexstr(m, /*LowerCase=*/true);
    };
    d.message = "relocation " + relocName(type).str() + " out of range: " + hex(value) +
                " is not in [" + hex(lo) + ", " + hex(hi) + "]" +
                (d.symbol.empty() ? "" : "; references '" + d.symbol + "'");
    return llvm::make_error<RelocationRangeError>(std::move(d), type, value, lo, hi);
}

llvm::Error Target::checkInt(uint32_t type, int64_t value, unsigned bits,
                             llvm::function_ref<Diagnostic()> where) const
{
    const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
    if (value < lo || value > hi)
        return rangeError(type, value, lo, hi, where);
    return llvm::Error::success();
}

llvm::Error Target::checkUInt(uint32_t type, int64_t value, unsigned bits,
                              llvm::function_ref<Diagnostic()> where) const
{
    const int64_t hi = static_cast<int64_t>((uint64_t{1} << bits) - 1);
    if (value < 0 || value > hi)
        return rangeError(type, value, 0, hi, where);
    return llvm::Error::success();
}

llvm::Error Target::checkIntUInt(uint32_t type, int64_t value, unsigned bits,
                                 llvm::function_ref<Diagnostic()> where) const
{
    const int64_t lo = -(int64_t{1} << (bits - 1)), hi = static_cast<int64_t>((uint64_t{1} << bits) - 1);
    if (value < lo || value > hi)
        return rangeError(type, value, lo, hi, where);
    return llvm::Error::success();
}

llvm::Error Target::unsupportedRelocation(uint32_t type, llvm::function_ref<Diagnostic()> where) const
{
    Diagnostic d = where();
    d.rule = Rule::UnsupportedRelocation;
    if (relExpr(type) == RelExpr::TLS)
        d.message = "relocation " + relocName(type).str() + " against '" + d.symbol +
                    "': this thread-local access model is not supported in modules (general "
                    "dynamic, local dynamic and TLS descriptors are); compile the module with "
                    "-fPIC and the default code model";
    else
        d.message = "unsupported relocation " + relocName(type).str() + " (" + std::to_string(type) + ")";
    return llvm::make_error<DiagnosticError>(std::move(d));
}

llvm::Error Target::tlsModelAllowed(uint32_t type, bool own, llvm::function_ref<Diagnostic()> where) const
{
    const TlsUse use = tlsReloc(type).use;
    if (use == TlsUse::Unsupported)
        return unsupportedRelocation(type, where);
    if (!(use == TlsUse::TpOffset || (use == TlsUse::IeEntry && own)))
        return llvm::Error::success();
    Diagnostic d = where();
    d.rule = Rule::UnsupportedRelocation;
    d.message = "relocation " + relocName(type).str() + " against '" + d.symbol + "': " +
                (use == TlsUse::IeEntry ? "initial-exec" : "local-exec") +
                " access to thread-local data needs a fixed offset from the thread pointer, "
                "which " + (own ? "a module's own thread-local data" : "a symbol outside the module") +
                " does not have (modules get TLS blocks as threads need them, with no static "
                "reserve); compile the module with -fPIC, or -ftls-model=global-dynamic";
    return llvm::make_error<DiagnosticError>(std::move(d));
}

unsigned dereferencedArguments(llvm::StringRef f)
{
    if (f.consume_front("__") && !f.consume_back("_chk")) // __memset_chk & co.
        return 0;
    if (f == "memset" || f == "bzero" || f == "explicit_bzero")
        return 1;
    if (f == "memcpy" || f == "memmove" || f == "mempcpy" || f == "memcmp" || f == "bcmp" || f == "bcopy")
        return 3;
    return 0;
}

const Reloc *relocationIn(const std::vector<Reloc> &relocs, uint64_t begin, uint64_t end)
{
    auto it = std::partition_point(relocs.begin(), relocs.end(), [&](const Reloc &r) { return r.offset < begin; });
    return it != relocs.end() && it->offset < end ? &*it : nullptr;
}

void Target::writePltStub(uint8_t *, uint64_t, uint64_t) const {}

llvm::Error Target::writeFarStub(uint8_t *, const Section &, uint64_t, const Reloc &,
                                 const std::vector<Reloc> &, uint64_t, uint8_t *, uint64_t) const
{
    return llvm::make_error<llvm::StringError>("not supported on this architecture",
                                               llvm::inconvertibleErrorCode());
}

// The one place that names the architectures: each e_machine with its
// factory (arch/<arch>/Target.cpp).  Every Target is built on first use of
// any, once per process (C++11 magic statics: thread-safe); construction only
// fills tables, and each arch sets up its MC disassembler when an analysis
// first asks for it.
namespace {
struct TargetEntry {
    uint16_t machine;
    std::unique_ptr<Target> (*create)();
};
constexpr TargetEntry kTargets[] = {
    {llvm::ELF::EM_X86_64, createX86_64Target},
    {llvm::ELF::EM_AARCH64, createAArch64Target},
};
constexpr auto kMachines = [] {
    std::array<uint16_t, std::size(kTargets)> m{};
    for (size_t i = 0; i < m.size(); ++i)
        m[i] = kTargets[i].machine;
    return m;
}();
} // namespace

const Target *targetFor(uint16_t machine)
{
    static const auto targets = [] {
        std::array<std::unique_ptr<Target>, std::size(kTargets)> t;
        for (size_t i = 0; i < t.size(); ++i)
            t[i] = kTargets[i].create();
        return t;
    }();
    for (size_t i = 0; i < targets.size(); ++i)
        if (kTargets[i].machine == machine)
            return targets[i].get();
    return nullptr;
}

llvm::ArrayRef<uint16_t> supportedMachines() { return kMachines; }

} // namespace percpu::elfpatch
