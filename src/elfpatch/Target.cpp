//===- Target.cpp - target selection -------------------------------------===//
#include "percpu/elfpatch/Target.h"

#include "llvm/BinaryFormat/ELF.h"

namespace percpu::elfpatch {

Target::~Target() = default;

llvm::Error Target::applyRelocation(uint32_t type, uint8_t *, const RelocValues &,
                                    llvm::function_ref<Diagnostic()> where) const
{
    Diagnostic d = where();
    d.rule = "unsupported-relocation";
    d.message = "loading " + machineName(machine) + " modules is not supported (relocation " +
                relocName(type).str() + ")";
    return llvm::make_error<DiagnosticError>(std::move(d));
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
