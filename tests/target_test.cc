// One Target per machine (elfpatch's targetFor): the same instance for the
// process, and nothing of an object kept in it.  The x86-64 decoding sweep
// once lived in the Target, keyed by a section's data pointer and size: a
// section freed and another of the same size allocated at the same address
// was classified with the first one's instruction boundaries.
#include "percpu/elfpatch/Object.h"
#include "percpu/elfpatch/Target.h"

#include "llvm/BinaryFormat/ELF.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace elfpatch = percpu::elfpatch;
using namespace llvm::ELF;

namespace {

TEST(Target, OnePerMachineForTheProcess)
{
    const elfpatch::Target *x86 = elfpatch::targetFor(EM_X86_64);
    const elfpatch::Target *a64 = elfpatch::targetFor(EM_AARCH64);
    ASSERT_NE(x86, nullptr);
    ASSERT_NE(a64, nullptr);
    EXPECT_NE(x86, a64);
    EXPECT_EQ(elfpatch::targetFor(EM_X86_64), x86);
    EXPECT_EQ(elfpatch::targetFor(EM_AARCH64), a64);
    EXPECT_EQ(x86->machine, EM_X86_64);
    EXPECT_EQ(a64->machine, EM_AARCH64);
    EXPECT_EQ(elfpatch::targetFor(EM_386), nullptr);
    EXPECT_EQ(elfpatch::targetFor(EM_RISCV), nullptr);
    for (uint16_t m : elfpatch::supportedMachines())
        EXPECT_NE(elfpatch::targetFor(m), nullptr) << m;
    EXPECT_EQ(elfpatch::unsupportedMachine(EM_386), "unsupported machine i386 (expected x86-64 or AArch64)");
    EXPECT_EQ(elfpatch::unsupportedMachine(21), "unsupported machine 21 (expected x86-64 or AArch64)");
}

// A section of x86-64 code with a PC32 relocation at offset 3.
elfpatch::AccessKind classifyAt3(const std::vector<uint8_t> &code)
{
    auto sec = std::make_unique<elfpatch::Section>();
    sec->index = 1;
    sec->name = ".text";
    sec->type = SHT_PROGBITS;
    sec->flags = SHF_ALLOC | SHF_EXECINSTR;
    sec->data = code;
    sec->size = code.size();
    elfpatch::Reloc r;
    r.offset = 3;
    r.type = R_X86_64_PC32;
    r.symbol = 1;
    r.addend = -4;
    return elfpatch::targetFor(EM_X86_64)->classifyAccess(*sec, r, {r}).kind;
}

TEST(Target, KeepsNoInstructionBoundariesOfAnObject)
{
    // lea 0(%rip), %rax ; ret: an address computation.
    const std::vector<uint8_t> lea = {0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3};
    // nop ; mov 0(%rip), %eax ; ret: the same size, the field at the same
    // offset, but a load through the address: a direct access.
    const std::vector<uint8_t> load = {0x90, 0x8b, 0x05, 0, 0, 0, 0, 0xc3};
    // Each analysed alone, then in turns (with the old cache the second
    // section, often allocated where the first was, took its boundaries).
    for (int round = 0; round < 4; ++round) {
        EXPECT_EQ(classifyAt3(lea), elfpatch::AccessKind::Address) << "round " << round;
        EXPECT_EQ(classifyAt3(load), elfpatch::AccessKind::Memory) << "round " << round;
    }
}

} // namespace
