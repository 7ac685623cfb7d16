//===- ElfTarget.cpp - AArch64 relocations and per-CPU access decoding ----===//
//
// ELF for the Arm 64-bit Architecture (AAELF64), section 5.7.
// Quirks that matter here:
//  - Addresses are built in two instructions: ADRP (page, R_..._ADR_PREL_PG_HI21)
//    then ADD #:lo12: (R_..._ADD_ABS_LO12_NC) for an address, or a load/store
//    with the low 12 bits folded into its offset (R_..._LDST*_ABS_LO12_NC),
//    which is a direct access to the canonical address.
//  - Every instruction is 4 bytes, so the relocation offset is the
//    instruction: no sweep needed.
//  - `patch --indirect` keeps ADRP (retargeted to the slot's page) and turns
//    `add xd, xn, #:lo12:sym` (0x91000000 | imm12<<10 | Rn<<5 | Rd) into
//    `ldr xd, [xn, #:lo12:slot]` (0xf9400000 | Rn<<5 | Rd), whose immediate the
//    LDST64_ABS_LO12_NC relocation fills.  Slots share one 4 KiB page so an
//    ADRP shared by several accesses still points at the right page.
//===----------------------------------------------------------------------===//
#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Disassembler.h"
#include "percpu/elfpatch/Target.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/MC/MCInstrDesc.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/Support/Endian.h"

#include <cctype>
#include <mutex>

using namespace llvm;
using namespace llvm::ELF;

namespace percpu::elfpatch {
namespace {

class AArch64 final : public Target {
public:
    AArch64() = default;
    uint16_t machine() const override { return EM_AARCH64; }
    StringRef relocName(uint32_t type) const override;
    RelExpr relExpr(uint32_t type) const override;
    Access classifyAccess(const Section &sec, const Reloc &rel,
                          const std::vector<Reloc> &relocs) const override;
    Error rewriteIndirect(const ObjectFile &obj, Section &sec, Reloc &rel,
                          const std::vector<Reloc> &relocs,
                          const std::function<SlotRef(uint32_t, int64_t)> &slotFor) const override;
    uint32_t absolute64() const override { return R_AARCH64_ABS64; }

private:
    // After `ldr xN, [xM, :got_lo12:sym]` (-fPIC): whether the next few
    // instructions of straight-line code load or store through xN itself.
    AccessKind gotLoadUse(const Section &sec, uint64_t at, const MCInst &load, std::string &text) const;
    static bool isLoadStoreLo12(uint32_t type)
    {
        switch (type) {
        case R_AARCH64_LDST8_ABS_LO12_NC: case R_AARCH64_LDST16_ABS_LO12_NC:
        case R_AARCH64_LDST32_ABS_LO12_NC: case R_AARCH64_LDST64_ABS_LO12_NC:
        case R_AARCH64_LDST128_ABS_LO12_NC:
            return true;
        default:
            return false;
        }
    }
    // The MC disassembler is costly to set up and only analysis needs it:
    // created on first use (the loader never does).
    const Disassembler *dis() const
    {
        std::call_once(disOnce_, [this] { dis_ = Disassembler::create("aarch64-unknown-linux-gnu"); });
        return dis_.get();
    }
    mutable std::once_flag disOnce_;
    mutable std::unique_ptr<Disassembler> dis_;
};

StringRef AArch64::relocName(uint32_t type) const
{
    switch (type) {
#define ELF_RELOC(name, value)                                                                    \
    case value:                                                                                   \
        return #name;
#include "llvm/BinaryFormat/ELFRelocs/AArch64.def"
#undef ELF_RELOC
    }
    return "R_AARCH64_<unknown>";
}

RelExpr AArch64::relExpr(uint32_t type) const
{
    switch (type) {
    case R_AARCH64_NONE: return RelExpr::None;
    case R_AARCH64_ABS64: case R_AARCH64_ABS32: case R_AARCH64_ABS16: return RelExpr::Absolute;
    case R_AARCH64_PREL64: case R_AARCH64_PREL32: case R_AARCH64_PREL16:
    case R_AARCH64_LD_PREL_LO19: case R_AARCH64_ADR_PREL_LO21:
        return RelExpr::PCRelative;
    case R_AARCH64_CALL26: case R_AARCH64_JUMP26: return RelExpr::PLT;
    case R_AARCH64_ADR_PREL_PG_HI21: case R_AARCH64_ADR_PREL_PG_HI21_NC:
        return RelExpr::PageRelative;
    case R_AARCH64_ADD_ABS_LO12_NC: case R_AARCH64_LDST8_ABS_LO12_NC:
    case R_AARCH64_LDST16_ABS_LO12_NC: case R_AARCH64_LDST32_ABS_LO12_NC:
    case R_AARCH64_LDST64_ABS_LO12_NC: case R_AARCH64_LDST128_ABS_LO12_NC:
        return RelExpr::PageOffset;
    case R_AARCH64_ADR_GOT_PAGE: case R_AARCH64_LD64_GOT_LO12_NC: case R_AARCH64_LD64_GOTPAGE_LO15:
        return RelExpr::GotPCRelative;
    default:
        if (type >= R_AARCH64_TLSGD_ADR_PREL21 && type <= R_AARCH64_TLSDESC_CALL)
            return RelExpr::TLS;
        return RelExpr::Unknown;
    }
}

// The base register of a load or store as printed ("[x3, #8]" -> "x3"), or "".
std::string printedBase(const std::string &text)
{
    size_t open = text.find('[');
    if (open == std::string::npos)
        return "";
    size_t end = open + 1;
    while (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end])))
        ++end;
    return text.substr(open + 1, end - open - 1);
}

AccessKind AArch64::gotLoadUse(const Section &sec, uint64_t at, const MCInst &load, std::string &text) const
{
    if (load.getNumOperands() == 0 || !load.getOperand(0).isReg() || !load.getOperand(0).getReg())
        return AccessKind::GotLoad;
    const MCRegisterInfo &mri = dis()->registerInfo();
    unsigned reg = load.getOperand(0).getReg();
    std::string regName = StringRef(mri.getName(reg)).lower(); // "x3"
    for (uint64_t off = at + 4, n = 0; n < 8 && off + 4 <= sec.data.size(); off += 4, ++n) {
        auto d = dis()->decode(ArrayRef<uint8_t>(sec.data).slice(off, 4), off);
        if (!d)
            break;
        const MCInstrDesc &desc = dis()->instrInfo().get(d->inst.getOpcode());
        std::string printed = dis()->print(d->inst);
        if ((desc.mayLoad() || desc.mayStore()) && printedBase(printed) == regName) {
            text += "; then " + printed + " at +0x" + utohexstr(off);
            return AccessKind::Memory;
        }
        if (desc.isBranch() || desc.isCall() || desc.isReturn())
            break;
        bool redefined = false;
        for (unsigned i = 0; i < desc.getNumDefs() && i < d->inst.getNumOperands(); ++i)
            if (d->inst.getOperand(i).isReg() && d->inst.getOperand(i).getReg() &&
                mri.isSuperOrSubRegisterEq(d->inst.getOperand(i).getReg(), reg))
                redefined = true;
        if (redefined)
            break;
    }
    return AccessKind::GotLoad;
}

Access AArch64::classifyAccess(const Section &sec, const Reloc &rel,
                               const std::vector<Reloc> &) const
{
    Access a;
    if (!(sec.flags & SHF_EXECINSTR)) {
        a.kind = AccessKind::Data;
        return a;
    }
    a.instOffset = rel.offset & ~uint64_t{3};
    a.instSize = 4;
    if (a.instOffset + 4 > sec.data.size())
        return a;
    auto d = dis() ? dis()->decode(ArrayRef<uint8_t>(sec.data).slice(a.instOffset, 4), a.instOffset)
                  : std::nullopt;
    if (!d)
        return a;
    a.text = dis()->print(d->inst);
    RelExpr e = relExpr(rel.type);
    if (e == RelExpr::GotPCRelative) {
        a.kind = rel.type == R_AARCH64_LD64_GOT_LO12_NC ? gotLoadUse(sec, a.instOffset, d->inst, a.text)
                                                        : AccessKind::GotLoad;
        return a;
    }
    const MCInstrDesc &desc = dis()->instrInfo().get(d->inst.getOpcode());
    if (isLoadStoreLo12(rel.type) || rel.type == R_AARCH64_LD_PREL_LO19)
        a.kind = (desc.mayLoad() || desc.mayStore()) ? AccessKind::Memory : AccessKind::Address;
    else
        a.kind = AccessKind::Address;
    return a;
}

Error AArch64::rewriteIndirect(const ObjectFile &obj, Section &sec, Reloc &rel,
                               const std::vector<Reloc> &relocs,
                               const std::function<SlotRef(uint32_t, int64_t)> &slotFor) const
{
    const std::string symName = obj.symbols[rel.symbol].name;
    auto cannot = [&](const std::string &why, const std::string &text) {
        std::string msg = "cannot make " + relocName(rel.type).str() + " against '" + symName +
                          "' reach a block placed anywhere: " + why;
        if (!text.empty())
            msg += " (" + text + ")";
        return makeError("direct-access", obj.path, sec.name, rel.offset, symName, msg);
    };
    RelExpr e = relExpr(rel.type);
    if (e == RelExpr::None || e == RelExpr::GotPCRelative || e == RelExpr::Size)
        return Error::success();
    if (rel.type == R_AARCH64_ABS64)
        return Error::success();
    if (!(sec.flags & SHF_EXECINSTR))
        return cannot("a 32-bit or PC-relative reference in data", "");
    Access a = classifyAccess(sec, rel, relocs);
    if (a.kind != AccessKind::Address)
        return cannot(a.kind == AccessKind::Memory
                          ? "the instruction reads or writes the canonical address directly"
                          : "the instruction could not be decoded",
                      a.text);
    if (rel.type == R_AARCH64_ADR_PREL_PG_HI21 || rel.type == R_AARCH64_ADR_PREL_PG_HI21_NC) {
        SlotRef slot = slotFor(rel.symbol, rel.addend);
        rel.symbol = slot.symbol;
        rel.addend = static_cast<int64_t>(slot.offset);
        return Error::success();
    }
    if (rel.type == R_AARCH64_ADD_ABS_LO12_NC) {
        uint32_t insn = support::endian::read32le(sec.data.data() + a.instOffset);
        // ADD (immediate), 64-bit, no shift: sf=1 op=0 S=0 100010 sh=0.
        if ((insn & 0xffc00000) != 0x91000000)
            return cannot("only a 64-bit `add xd, xn, #:lo12:sym` can be rewritten", a.text);
        uint32_t rn = (insn >> 5) & 31, rd = insn & 31;
        support::endian::write32le(sec.data.data() + a.instOffset, 0xf9400000 | (rn << 5) | rd);
        SlotRef slot = slotFor(rel.symbol, rel.addend);
        rel.type = R_AARCH64_LDST64_ABS_LO12_NC;
        rel.symbol = slot.symbol;
        rel.addend = static_cast<int64_t>(slot.offset);
        return Error::success();
    }
    return cannot("not an ADRP/ADD address computation", a.text);
}

} // namespace

std::unique_ptr<Target> createAArch64Target() { return std::make_unique<AArch64>(); }

} // namespace percpu::elfpatch
