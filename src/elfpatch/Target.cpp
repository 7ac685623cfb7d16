//===- Target.cpp - target selection -------------------------------------===//
#include "percpu/elfpatch/Target.h"

#include "llvm/BinaryFormat/ELF.h"

namespace percpu::elfpatch {

Target::~Target() = default;

llvm::Error Target::rangeError(uint32_t type, int64_t value, int64_t lo, int64_t hi,
                               llvm::function_ref<Diagnostic()> where) const
{
    Diagnostic d = where();
    d.rule = "relocation-overflow";
    d.message = "relocation " + relocName(type).str() + " out of range: " + std::to_string(value) +
                " is not in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]" +
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

uint64_t Target::relocValue(RelExpr e, const RelocValues &v)
{
    const uint64_t A = static_cast<uint64_t>(v.A);
    auto page = [](uint64_t x) { return x & ~uint64_t{0xfff}; };
    switch (e) {
    case RelExpr::Absolute: return v.S + A;
    case RelExpr::PCRelative: return v.S + A - v.P;
    case RelExpr::PLT: return v.L + A - v.P;
    case RelExpr::GotPCRelative: return v.G + A - v.P;
    case RelExpr::GotOffset: return v.G - v.GOT + A;
    case RelExpr::PltGotRelative: return v.L + A - v.GOT;
    case RelExpr::GotRelative: return v.S + A - v.GOT;
    case RelExpr::GotBaseRelative: return v.GOT + A - v.P;
    case RelExpr::Size: return v.Z + A;
    case RelExpr::PageRelative: return page(v.S + A) - page(v.P);
    case RelExpr::PageOffset: return v.S + A;
    case RelExpr::GotPageRelative: return page(v.G + A) - page(v.P);
    case RelExpr::GotPageOffset: return v.G + A;
    case RelExpr::GotPageBaseOffset: return v.G + A - page(v.GOT);
    case RelExpr::None:
    case RelExpr::TLS:
    case RelExpr::Unknown: break;
    }
    return 0;
}

llvm::Error Target::applyRelocation(uint32_t type, RelExpr e, uint8_t *loc, const RelocValues &v,
                                    llvm::function_ref<Diagnostic()> where) const
{
    if (e == RelExpr::None)
        return llvm::Error::success();
    if (e == RelExpr::TLS || e == RelExpr::Unknown)
        return unsupportedRelocation(type, where);
    return relocate(type, loc, relocValue(e, v), where);
}

llvm::Error Target::unsupportedRelocation(uint32_t type, llvm::function_ref<Diagnostic()> where) const
{
    Diagnostic d = where();
    d.rule = "unsupported-relocation";
    if (relExpr(type) == RelExpr::TLS)
        d.message = "relocation " + relocName(type).str() + " against '" + d.symbol +
                    "': thread-local storage is not supported in modules (a module has no TLS "
                    "block); use a per-CPU variable or pass the data explicitly";
    else
        d.message = "unsupported relocation " + relocName(type).str() + " (" + std::to_string(type) + ")";
    return llvm::make_error<DiagnosticError>(std::move(d));
}

void Target::writePltStub(uint8_t *, uint64_t, uint64_t) const {}

llvm::Error Target::writeFarStub(uint8_t *, const Section &, uint64_t, const Reloc &,
                                 const std::vector<Reloc> &, uint64_t, uint8_t *, uint64_t) const
{
    return llvm::make_error<llvm::StringError>("not supported on this architecture",
                                               llvm::inconvertibleErrorCode());
}

std::unique_ptr<Target> createTarget(uint16_t machine)
{
    switch (machine) {
    case llvm::ELF::EM_X86_64: return createX86_64Target();
    case llvm::ELF::EM_AARCH64: return createAArch64Target();
    default: return nullptr;
    }
}

} // namespace percpu::elfpatch
