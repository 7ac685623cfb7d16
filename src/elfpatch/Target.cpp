//===- Target.cpp - target selection -------------------------------------===//
#include "percpu/elfpatch/Target.h"

#include "llvm/BinaryFormat/ELF.h"

namespace percpu::elfpatch {

Target::~Target() = default;

std::unique_ptr<Target> createTarget(uint16_t machine)
{
    switch (machine) {
    case llvm::ELF::EM_X86_64: return createX86_64Target();
    case llvm::ELF::EM_AARCH64: return createAArch64Target();
    default: return nullptr;
    }
}

} // namespace percpu::elfpatch
