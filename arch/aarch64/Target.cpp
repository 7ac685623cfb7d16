//===- aarch64/Target.cpp - AArch64 relocations and per-CPU access decoding ===//
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
#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Disassembler.h"
#include "percpu/elfpatch/Target.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/MC/MCInstrDesc.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/Support/Endian.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <cctype>
#include <optional>
#include <vector>

extern "C" {
void LLVMInitializeAArch64TargetInfo();
void LLVMInitializeAArch64TargetMC();
void LLVMInitializeAArch64Disassembler();
}

using namespace llvm;
using namespace llvm::ELF;

namespace percpu::elfpatch {
namespace {

// Bytes each relocation type writes (Target::relocWidth).
constexpr std::array<uint8_t, R_AARCH64_PREL16 + 1> kRelocWidths = [] {
    std::array<uint8_t, R_AARCH64_PREL16 + 1> w{};
    w.fill(4);
    w[R_AARCH64_ABS64] = w[R_AARCH64_PREL64] = 8;
    w[R_AARCH64_ABS16] = w[R_AARCH64_PREL16] = 2;
    w[R_AARCH64_NONE] = 0;
    return w;
}();

// Each relocation type's kind (the table in Target.h says what each computes).
constexpr RelExpr classify(uint32_t type)
{
    switch (type) {
    case R_AARCH64_NONE: return RelExpr::None;
    case R_AARCH64_ABS64: case R_AARCH64_ABS32: case R_AARCH64_ABS16: return RelExpr::Absolute;
    case R_AARCH64_PREL64: case R_AARCH64_PREL32: case R_AARCH64_PREL16:
    case R_AARCH64_LD_PREL_LO19: case R_AARCH64_ADR_PREL_LO21:
    case R_AARCH64_CONDBR19: case R_AARCH64_TSTBR14:
        return RelExpr::PCRelative;
    case R_AARCH64_MOVW_UABS_G0: case R_AARCH64_MOVW_UABS_G0_NC: case R_AARCH64_MOVW_UABS_G1:
    case R_AARCH64_MOVW_UABS_G1_NC: case R_AARCH64_MOVW_UABS_G2: case R_AARCH64_MOVW_UABS_G2_NC:
    case R_AARCH64_MOVW_UABS_G3:
        return RelExpr::Absolute;
    case R_AARCH64_CALL26: case R_AARCH64_JUMP26: return RelExpr::PLT;
    case R_AARCH64_ADR_PREL_PG_HI21: case R_AARCH64_ADR_PREL_PG_HI21_NC:
        return RelExpr::PageRelative;
    case R_AARCH64_ADD_ABS_LO12_NC: case R_AARCH64_LDST8_ABS_LO12_NC:
    case R_AARCH64_LDST16_ABS_LO12_NC: case R_AARCH64_LDST32_ABS_LO12_NC:
    case R_AARCH64_LDST64_ABS_LO12_NC: case R_AARCH64_LDST128_ABS_LO12_NC:
        return RelExpr::PageOffset;
    case R_AARCH64_ADR_GOT_PAGE: return RelExpr::GotPageRelative;
    case R_AARCH64_LD64_GOT_LO12_NC: return RelExpr::GotPageOffset;
    case R_AARCH64_LD64_GOTPAGE_LO15: return RelExpr::GotPageBaseOffset;
    default:
        if (type >= R_AARCH64_TLSGD_ADR_PREL21 && type <= R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC)
            return RelExpr::TLS;
        return RelExpr::Unknown;
    }
}

constexpr auto kRelExprs = relExprTable<R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC + 1>(classify);

// The relocations whose field is plain data, written by
// Target::applyRelocation (lld accepts signed or unsigned values there).
constexpr std::array<DataField, R_AARCH64_PREL16 + 1> kDataFields = [] {
    std::array<DataField, R_AARCH64_PREL16 + 1> f{};
    using C = FieldCheck;
    f[R_AARCH64_ABS64] = {8, C::None};     // S + A
    f[R_AARCH64_ABS32] = {4, C::IntUInt};  // S + A
    f[R_AARCH64_ABS16] = {2, C::IntUInt};  // S + A
    f[R_AARCH64_PREL64] = {8, C::None};    // S + A - P
    f[R_AARCH64_PREL32] = {4, C::IntUInt}; // S + A - P
    f[R_AARCH64_PREL16] = {2, C::IntUInt}; // S + A - P
    return f;
}();

// TLS relocations (Target.h's TlsUse table): the entry or offset each uses,
// then what it computes; relocate() encodes them as the non-TLS forms of the
// same instructions.  The tiny (ADR_PREL21, LD_PREL19) and large (MOVW)
// code models' forms are refused.
constexpr uint32_t kTlsFirst = R_AARCH64_TLSGD_ADR_PREL21;
constexpr std::array<TlsReloc, R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC - kTlsFirst + 1> kTlsRelocs = [] {
    std::array<TlsReloc, R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC - kTlsFirst + 1> t{};
    auto set = [&](uint32_t type, TlsUse use, RelExpr e) { t[type - kTlsFirst] = {use, e}; };
    set(R_AARCH64_TLSGD_ADR_PAGE21, TlsUse::GdPair, RelExpr::GotPageRelative);
    set(R_AARCH64_TLSGD_ADD_LO12_NC, TlsUse::GdPair, RelExpr::GotPageOffset);
    set(R_AARCH64_TLSLD_ADR_PAGE21, TlsUse::LdPair, RelExpr::GotPageRelative);
    set(R_AARCH64_TLSLD_ADD_LO12_NC, TlsUse::LdPair, RelExpr::GotPageOffset);
    set(R_AARCH64_TLSDESC_ADR_PAGE21, TlsUse::Descriptor, RelExpr::GotPageRelative);
    set(R_AARCH64_TLSDESC_LD64_LO12, TlsUse::Descriptor, RelExpr::GotPageOffset);
    set(R_AARCH64_TLSDESC_ADD_LO12, TlsUse::Descriptor, RelExpr::GotPageOffset);
    set(R_AARCH64_TLSDESC_CALL, TlsUse::Marker, RelExpr::None);
    set(R_AARCH64_TLSDESC_LDR, TlsUse::Marker, RelExpr::None);
    set(R_AARCH64_TLSDESC_ADD, TlsUse::Marker, RelExpr::None);
    set(R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, TlsUse::IeEntry, RelExpr::GotPageRelative);
    set(R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC, TlsUse::IeEntry, RelExpr::GotPageOffset);
    for (uint32_t type : {R_AARCH64_TLSLD_ADD_DTPREL_HI12, R_AARCH64_TLSLD_ADD_DTPREL_LO12,
                          R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC, R_AARCH64_TLSLD_LDST8_DTPREL_LO12,
                          R_AARCH64_TLSLD_LDST8_DTPREL_LO12_NC, R_AARCH64_TLSLD_LDST16_DTPREL_LO12,
                          R_AARCH64_TLSLD_LDST16_DTPREL_LO12_NC, R_AARCH64_TLSLD_LDST32_DTPREL_LO12,
                          R_AARCH64_TLSLD_LDST32_DTPREL_LO12_NC, R_AARCH64_TLSLD_LDST64_DTPREL_LO12,
                          R_AARCH64_TLSLD_LDST64_DTPREL_LO12_NC, R_AARCH64_TLSLD_LDST128_DTPREL_LO12,
                          R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC})
        set(type, TlsUse::DtpOffset, RelExpr::Absolute);
    for (uint32_t type = R_AARCH64_TLSLE_MOVW_TPREL_G2; type <= R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC; ++type)
        set(type, TlsUse::TpOffset, RelExpr::Absolute);
    set(R_AARCH64_TLSLE_LDST128_TPREL_LO12, TlsUse::TpOffset, RelExpr::Absolute);
    set(R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC, TlsUse::TpOffset, RelExpr::Absolute);
    return t;
}();

class AArch64 final : public Target {
public:
    AArch64()
    {
        machine = EM_AARCH64;
        name = "AArch64";
        absolute64 = R_AARCH64_ABS64;
        branchReach = int64_t{1} << 27; // B/BL: +-128 MiB
        pltStubSize = 16;               // adrp, ldr, br x17, udf
        // No far-access stubs: adrp reaches +-4 GiB (see README).
        relocWidths = kRelocWidths;
        relExprs = kRelExprs;
        dataFields = kDataFields;
        tlsFirst = kTlsFirst;
        tlsRelocs = kTlsRelocs;
    }
    StringRef relocName(uint32_t type) const override;
    Access classifyAccess(const Section &sec, const Reloc &rel, const std::vector<Reloc> &relocs,
                          SymbolNames names = nullptr) const override;
    Error rewriteIndirect(const ObjectFile &obj, Section &sec, Reloc &rel,
                          const std::vector<Reloc> &relocs,
                          const std::function<SlotRef(uint32_t, int64_t)> &slotFor) const override;
    Error relocate(uint32_t type, uint8_t *loc, uint64_t value,
                   function_ref<Diagnostic()> where) const override;
    void writePltStub(uint8_t *stub, uint64_t stubAddr, uint64_t gotEntry) const override;

private:
    // After `ldr xN, [xM, :got_lo12:sym]` (-fPIC): whether the next few
    // instructions of straight-line code load or store through xN itself.
    // The section's relocations and their symbols' names, for calls.
    struct Calls {
        const std::vector<Reloc> &relocs;
        SymbolNames names;
    };
    AccessKind gotLoadUse(const Section &sec, uint64_t at, const MCInst &load, Access &a, Calls calls) const;
    AccessKind addressUse(const Section &sec, uint64_t at, const MCInst &add, Access &a, Calls calls) const;
    bool loadsOrStoresThrough(const Section &sec, uint64_t at, const MCInst &inst, Access &a,
                              bool (*through)(const std::string &, const std::string &), Calls calls) const;
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
    const Disassembler *dis() const { return dis_.get(); }
    LazyDisassembler dis_{"aarch64-unknown-linux-gnu", [] {
        LLVMInitializeAArch64TargetInfo();
        LLVMInitializeAArch64TargetMC();
        LLVMInitializeAArch64Disassembler();
    }};
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



// Whether `text`'s memory operand is [reg] or [reg, #imm]: the register is
// the whole address, no index register adds an offset to it; or [reg, xN,
// lsl #k] / [reg, wN, sxtw #k] with k >= 1: an element index, which a unit
// offset (a byte offset, added unscaled) never is.
bool addressesThroughAlone(const std::string &text, const std::string &reg)
{
    size_t open = text.find('[');
    if (open == std::string::npos || text.compare(open + 1, reg.size(), reg) != 0)
        return false;
    size_t after = open + 1 + reg.size();
    if (after >= text.size() || (text[after] != ']' && text[after] != ',')) // x2, not x20
        return false;
    if (text[after] == ']' || text.compare(after, 3, ", #") == 0)
        return true;
    const size_t close = text.find(']', after);
    if (close == std::string::npos)
        return false;
    const std::string operand = text.substr(after, close - after); // ", x1, lsl #2"
    for (const char *extend : {"lsl #", "sxtw #", "uxtw #", "sxtx #"}) {
        const size_t at = operand.find(extend);
        if (at != std::string::npos && at + std::strlen(extend) < operand.size() &&
            operand[at + std::strlen(extend)] != '0')
            return true;
    }
    return false;
}

// Follows the register that `inst` writes through the next few
// instructions of straight-line code: whether one loads or stores with an
// operand that `through(printed, reg)` accepts (a.text gets it appended;
// a.addedOffset, the constants added to the address on the way).
bool AArch64::loadsOrStoresThrough(const Section &sec, uint64_t at, const MCInst &inst, Access &a,
                                   bool (*through)(const std::string &, const std::string &),
                                   Calls calls) const
{
    if (inst.getNumOperands() == 0 || !inst.getOperand(0).isReg() || !inst.getOperand(0).getReg())
        return false;
    const MCRegisterInfo &mri = dis()->registerInfo();
    // The registers holding the address, each with the constant added to
    // it on the way (its name for the printed operands: "x3").
    struct Held {
        unsigned reg;
        std::string name;
        int64_t added;
    };
    std::vector<Held> held{{inst.getOperand(0).getReg(), StringRef(mri.getName(inst.getOperand(0).getReg())).lower(), 0}};
    auto find = [&](unsigned r) -> Held * {
        for (Held &h : held)
            if (h.reg == r)
                return &h;
        return nullptr;
    };
    auto found = [&](const Held &h, const std::string &printed, uint64_t off) {
        a.text += "; then " + printed + " at +0x" + utohexstr(off);
        a.addedOffset = h.added;
        return true;
    };
    // Stack slots holding the address (`str x0, [sp, #24]`, what -O0 does
    // with every local, and any level with a volatile pointer): a load from
    // one (`ldr x9, [sp, #24]`) holds it again.  Keyed by base and byte
    // offset.
    struct Slot {
        unsigned base;
        int64_t offset, added;
    };
    std::vector<Slot> slots;
    auto slotOf = [&](const MCInst &i, const std::string &name) -> std::optional<std::pair<unsigned, int64_t>> {
        const bool scaled = name == "STRXui" || name == "LDRXui", unscaled = name == "STURXi" || name == "LDURXi";
        if ((!scaled && !unscaled) || i.getNumOperands() < 3 || !i.getOperand(1).isReg() || !i.getOperand(2).isImm())
            return std::nullopt;
        const StringRef base = mri.getName(i.getOperand(1).getReg());
        if (base != "SP" && base != "FP" && base != "X29")
            return std::nullopt;
        return std::make_pair(i.getOperand(1).getReg(), i.getOperand(2).getImm() * (scaled ? 8 : 1));
    };
    for (uint64_t off = at + 4, n = 0; n < (slots.empty() ? 8u : 16u) && off + 4 <= sec.data.size(); off += 4, ++n) {
        auto d = dis()->decode(ArrayRef<uint8_t>(sec.data).slice(off, 4), off);
        if (!d)
            break;
        const MCInst &i = d->inst;
        const MCInstrDesc &desc = dis()->instrInfo().get(i.getOpcode());
        std::string printed = dis()->print(i);
        if (desc.mayLoad() || desc.mayStore())
            for (const Held &h : held)
                if (through(printed, h.name))
                    return found(h, printed, off);
        if (dis()->endsStraightLine(i)) {
            // bl/b to memset & co. with the address in x0 or x1 reads or
            // writes through it.
            const Reloc *call = calls.names ? relocationIn(calls.relocs, off, off + 4) : nullptr;
            const unsigned args = call ? dereferencedArguments(calls.names(call->symbol)) : 0;
            for (const Held &h : held)
                if (((args & 1) && h.name == "x0") || ((args & 2) && h.name == "x1"))
                    return found(h, printed, off);
            break;
        }
        const std::string name = dis()->opcodeName(i);
        std::optional<int64_t> reloaded;
        if (auto s = slotOf(i, name)) {
            auto same = [&](const Slot &k) { return k.base == s->first && k.offset == s->second; };
            if (startsWith(name, "ST")) {
                slots.erase(std::remove_if(slots.begin(), slots.end(), same), slots.end());
                if (const Held *value = i.getOperand(0).isReg() ? find(i.getOperand(0).getReg()) : nullptr)
                    slots.push_back({s->first, s->second, value->added});
                continue;
            }
            if (auto k = std::find_if(slots.begin(), slots.end(), same); k != slots.end())
                reloaded = k->added;
        }
        const unsigned dst = i.getNumOperands() >= 2 && i.getOperand(0).isReg() ? i.getOperand(0).getReg() : 0;
        const Held *src = i.getNumOperands() >= 2 && i.getOperand(1).isReg() ? find(i.getOperand(1).getReg()) : nullptr;
        // What the instruction makes of a held register, if it still holds
        // the address: a copy (`mov x3, x1`, gcc -O0's argument shuffles),
        // the address plus a constant (`add x1, x1, #0x18`: gcc's section
        // anchors reach a variable at its offset from the anchor), or plus
        // an element offset: `add x8, x8, x10, lsl #4` (a scaled register)
        // or `add x8, x8, w0, sxtw #4` (an extended 32-bit one), clang's
        // `m[i][j]`.  A unit offset is a 64-bit byte offset, added as it is.
        std::optional<int64_t> keeps = reloaded;
        if (name == "ORRXrs") { // mov xD, xS is orr xD, xzr, xS
            const Held *copied = i.getNumOperands() >= 4 && i.getOperand(1).isReg() && i.getOperand(2).isReg() &&
                                         i.getOperand(3).isImm() && i.getOperand(3).getImm() == 0 &&
                                         StringRef(mri.getName(i.getOperand(1).getReg())) == "XZR"
                                     ? find(i.getOperand(2).getReg())
                                     : nullptr;
            if (copied)
                keeps = copied->added;
        } else if (src && (name == "ADDXri" || name == "SUBXri") && i.getNumOperands() >= 4 && i.getOperand(2).isImm() &&
                   i.getOperand(3).isImm()) {
            const int64_t k = i.getOperand(2).getImm() << i.getOperand(3).getImm(); // imm12, lsl #0/#12
            keeps = src->added + (name == "ADDXri" ? k : -k);
        } else if (src && (startsWith(name, "ADDXrs") || startsWith(name, "ADDXrx"))) {
            const size_t comma = printed.rfind(", ");
            const std::string ext = comma == std::string::npos ? "" : printed.substr(comma + 2);
            const bool scaled = startsWith(ext, "lsl #") && ext.size() > 5 && ext[5] != '0';
            const bool extended = startsWith(ext, "sxtw") || startsWith(ext, "uxtw") || startsWith(ext, "sxth") ||
                                  startsWith(ext, "uxth") || startsWith(ext, "sxtb") || startsWith(ext, "uxtb");
            if (scaled || extended)
                keeps = src->added;
        }
        held.erase(std::remove_if(held.begin(), held.end(),
                                  [&](const Held &h) { return dis()->writesRegister(i, h.reg); }),
                   held.end());
        if (keeps && dst)
            held.push_back({dst, StringRef(mri.getName(dst)).lower(), *keeps});
        if (held.empty() && slots.empty())
            break;
    }
    return false;
}

// After `add xN, xM, :lo12:sym` (the second half of adrp+add): a load or
// store through xN alone goes through the canonical address itself.  With
// an index register ([xN, xOff]) the access adds an offset (a CPU's,
// tpidr_el1 or __per_cpu_offset[cpu]) and is fine.
AccessKind AArch64::addressUse(const Section &sec, uint64_t at, const MCInst &add, Access &a,
                               Calls calls) const
{
    return loadsOrStoresThrough(sec, at, add, a, addressesThroughAlone, calls) ? AccessKind::Memory
                                                                           : AccessKind::Address;
}

// After `ldr xN, [xM, :got_lo12:sym]` (-fPIC): a load or store through xN
// alone or with an element index; an unscaled index register may be the
// unit offset (gcc: `ldr x0, [x2, x1]`, x1 loaded from pcpu_unit_offset[]).
AccessKind AArch64::gotLoadUse(const Section &sec, uint64_t at, const MCInst &load, Access &a,
                               Calls calls) const
{
    return loadsOrStoresThrough(sec, at, load, a, addressesThroughAlone, calls) ? AccessKind::Memory
                                                                            : AccessKind::GotLoad;
}

Access AArch64::classifyAccess(const Section &sec, const Reloc &rel, const std::vector<Reloc> &relocs,
                               SymbolNames names) const
{
    const Calls calls{relocs, names};
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
    if (needsGot(e)) {
        a.kind = rel.type == R_AARCH64_LD64_GOT_LO12_NC ? gotLoadUse(sec, a.instOffset, d->inst, a, calls)
                                                        : AccessKind::GotLoad;
        return a;
    }
    const MCInstrDesc &desc = dis()->instrInfo().get(d->inst.getOpcode());
    if (isLoadStoreLo12(rel.type) || rel.type == R_AARCH64_LD_PREL_LO19)
        a.kind = (desc.mayLoad() || desc.mayStore()) ? AccessKind::Memory : AccessKind::Address;
    else if (rel.type == R_AARCH64_ADD_ABS_LO12_NC)
        a.kind = addressUse(sec, a.instOffset, d->inst, a, calls);
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
        return makeError(Rule::DirectAccess, obj.path, sec.name, rel.offset, symName, msg);
    };
    // ADRP + LDR of a GOT entry read the 8-byte address: the same pair reads
    // a slot (see the x86-64 target: the slot's relocation names the
    // symbol, the slot is not RELRO, and the linker cannot relax the pair
    // into an ADRP + ADD of the template).
    if (rel.type == R_AARCH64_ADR_GOT_PAGE || rel.type == R_AARCH64_LD64_GOT_LO12_NC) {
        SlotRef slot = slotFor(rel.symbol, 0);
        rel.type = rel.type == R_AARCH64_ADR_GOT_PAGE ? R_AARCH64_ADR_PREL_PG_HI21
                                                      : R_AARCH64_LDST64_ABS_LO12_NC;
        rel.symbol = slot.symbol;
        rel.addend = static_cast<int64_t>(static_cast<uint64_t>(rel.addend) + slot.offset);
        return Error::success();
    }
    RelExpr e = relExpr(rel.type);
    if (e == RelExpr::None || needsGot(e) || e == RelExpr::Size)
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

// The loader's relocation engine for fields inside instructions: the value
// is computed (Target::relocValue, the expression beside each case); each
// case is the field's encoding and range (the AArch64 ELF psABI's tables;
// lld's checks).
Error AArch64::relocate(uint32_t type, uint8_t *loc, uint64_t value, function_ref<Diagnostic()> where) const
{
    const auto x = static_cast<int64_t>(value);
    auto misaligned = [&](unsigned align) {
        Diagnostic d = where();
        d.rule = Rule::RelocationOverflow;
        d.message = "relocation " + relocName(type).str() + ": " + std::to_string(x) +
                    " is not a multiple of " + std::to_string(align) +
                    (d.symbol.empty() ? "" : "; references '" + d.symbol + "'");
        return make_error<DiagnosticError>(std::move(d));
    };
    auto insn = [&] { return support::endian::read32le(loc); };
    auto put = [&](uint32_t word) { support::endian::write32le(loc, word); };
    // imm in bits [lsb, lsb + width) of the instruction.
    auto field = [&](uint64_t imm, unsigned lsb, unsigned width) {
        uint32_t mask = ((uint32_t{1} << width) - 1) << lsb;
        put((insn() & ~mask) | ((static_cast<uint32_t>(imm) << lsb) & mask));
        return Error::success();
    };
    // ADR/ADRP: immlo in bits 29-30, immhi in bits 5-23.
    auto adr = [&](int64_t imm) {
        uint32_t u = static_cast<uint32_t>(imm);
        put((insn() & ~((3u << 29) | (0x7ffffu << 5))) | ((u & 3) << 29) | (((u >> 2) & 0x7ffff) << 5));
        return Error::success();
    };
    auto branch = [&](unsigned bits, unsigned lsb) -> Error {
        if (x & 3)
            return misaligned(4);
        if (Error e = checkInt(type, x, bits + 2, where))
            return e;
        return field(value >> 2, lsb, bits);
    };
    auto page = [&](bool check) -> Error {
        if (check)
            if (Error e = checkInt(type, x, 33, where))
                return e;
        return adr(x >> 12);
    };
    // MOVW: the 16 bits at `shift`; the checked forms require nothing above.
    auto uabs = [&](unsigned shift, bool check) -> Error {
        if (check && shift < 48 && (value >> (shift + 16)) != 0)
            return rangeError(type, x, 0, static_cast<int64_t>((uint64_t{1} << (shift + 16)) - 1), where);
        return field(value >> shift, 5, 16);
    };
    switch (type) {
    // ABS64/32/16 and PREL64/32/16 are data fields (kDataFields).
    case R_AARCH64_ADR_PREL_PG_HI21: return page(true);          // Page(S + A) - Page(P)
    case R_AARCH64_ADR_PREL_PG_HI21_NC: return page(false);
    case R_AARCH64_ADR_PREL_LO21:                                // S + A - P
        if (Error e = checkInt(type, x, 21, where))
            return e;
        return adr(x);
    case R_AARCH64_ADD_ABS_LO12_NC:                              // S + A, bits 0-11
    case R_AARCH64_LDST8_ABS_LO12_NC: return field(value & 0xfff, 10, 12);
    case R_AARCH64_LDST16_ABS_LO12_NC: return field((value & 0xfff) >> 1, 10, 12);
    case R_AARCH64_LDST32_ABS_LO12_NC: return field((value & 0xfff) >> 2, 10, 12);
    case R_AARCH64_LDST64_ABS_LO12_NC: return field((value & 0xfff) >> 3, 10, 12);
    case R_AARCH64_LDST128_ABS_LO12_NC: return field((value & 0xfff) >> 4, 10, 12);
    case R_AARCH64_CALL26:                                       // L + A - P: a stub when
    case R_AARCH64_JUMP26: return branch(26, 0);                 // S is out of reach
    case R_AARCH64_CONDBR19: return branch(19, 5);               // S + A - P
    case R_AARCH64_TSTBR14: return branch(14, 5);                // S + A - P
    case R_AARCH64_LD_PREL_LO19: return branch(19, 5);           // S + A - P
    case R_AARCH64_ADR_GOT_PAGE: return page(true);              // Page(G + A) - Page(P)
    case R_AARCH64_LD64_GOT_LO12_NC: return field((value & 0xfff) >> 3, 10, 12); // G + A
    case R_AARCH64_LD64_GOTPAGE_LO15:                            // G + A - Page(GOT)
        if (value >= (uint64_t{1} << 15))
            return rangeError(type, x, 0, (int64_t{1} << 15) - 1, where);
        return field(value >> 3, 10, 12);
    case R_AARCH64_MOVW_UABS_G0: return uabs(0, true);           // S + A
    case R_AARCH64_MOVW_UABS_G0_NC: return uabs(0, false);
    case R_AARCH64_MOVW_UABS_G1: return uabs(16, true);
    case R_AARCH64_MOVW_UABS_G1_NC: return uabs(16, false);
    case R_AARCH64_MOVW_UABS_G2: return uabs(32, true);
    case R_AARCH64_MOVW_UABS_G2_NC: return uabs(32, false);
    case R_AARCH64_MOVW_UABS_G3: return uabs(48, false);
    // TLS (kTlsRelocs): the value is an entry's address (G) or an offset in
    // the module's block (S), encoded as the non-TLS forms of the same
    // instructions.
    case R_AARCH64_TLSGD_ADR_PAGE21: case R_AARCH64_TLSLD_ADR_PAGE21:
    case R_AARCH64_TLSDESC_ADR_PAGE21: case R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21:
        return page(true);                                       // Page(G + A) - Page(P)
    case R_AARCH64_TLSGD_ADD_LO12_NC: case R_AARCH64_TLSLD_ADD_LO12_NC:
    case R_AARCH64_TLSDESC_ADD_LO12:
        return field(value & 0xfff, 10, 12);                     // G + A, bits 0-11
    case R_AARCH64_TLSDESC_LD64_LO12: case R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC:
        return field((value & 0xfff) >> 3, 10, 12);              // G + A, scaled by 8
    case R_AARCH64_TLSLD_ADD_DTPREL_HI12:                        // S + A, bits 12-23
        if (Error e = checkUInt(type, x, 24, where))
            return e;
        return field(value >> 12, 10, 12);
    case R_AARCH64_TLSLD_ADD_DTPREL_LO12: case R_AARCH64_TLSLD_LDST8_DTPREL_LO12:
        if (Error e = checkUInt(type, x, 12, where))             // S + A, bits 0-11
            return e;
        return field(value & 0xfff, 10, 12);
    case R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC: case R_AARCH64_TLSLD_LDST8_DTPREL_LO12_NC:
        return field(value & 0xfff, 10, 12);
    case R_AARCH64_TLSLD_LDST16_DTPREL_LO12: case R_AARCH64_TLSLD_LDST16_DTPREL_LO12_NC:
        return field((value & 0xfff) >> 1, 10, 12);
    case R_AARCH64_TLSLD_LDST32_DTPREL_LO12: case R_AARCH64_TLSLD_LDST32_DTPREL_LO12_NC:
        return field((value & 0xfff) >> 2, 10, 12);
    case R_AARCH64_TLSLD_LDST64_DTPREL_LO12: case R_AARCH64_TLSLD_LDST64_DTPREL_LO12_NC:
        return field((value & 0xfff) >> 3, 10, 12);
    case R_AARCH64_TLSLD_LDST128_DTPREL_LO12: case R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC:
        return field((value & 0xfff) >> 4, 10, 12);
    default: break;
    }
    return unsupportedRelocation(type, where);
}

//   adrp x16, Page(gotEntry)
//   ldr  x17, [x16, #:lo12:gotEntry]
//   br   x17
//   udf  #0              never reached
void AArch64::writePltStub(uint8_t *stub, uint64_t stubAddr, uint64_t gotEntry) const
{
    int64_t pages = static_cast<int64_t>((gotEntry & ~uint64_t{0xfff}) - (stubAddr & ~uint64_t{0xfff})) >> 12;
    uint32_t u = static_cast<uint32_t>(pages);
    uint32_t adrp = 0x90000010u | ((u & 3) << 29) | (((u >> 2) & 0x7ffff) << 5);
    uint32_t ldr = 0xf9400211u | (static_cast<uint32_t>((gotEntry & 0xfff) >> 3) << 10);
    support::endian::write32le(stub, adrp);
    support::endian::write32le(stub + 4, ldr);
    support::endian::write32le(stub + 8, 0xd61f0220u); // br x17
    support::endian::write32le(stub + 12, 0x00000000u); // udf #0
}

} // namespace

std::unique_ptr<Target> createAArch64Target() { return std::make_unique<AArch64>(); }

} // namespace percpu::elfpatch
