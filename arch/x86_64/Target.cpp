//===- x86_64/Target.cpp - x86-64 relocations and per-CPU access decoding -===//
//
// x86-64 psABI (https://gitlab.com/x86-psABIs/x86-64-ABI), section 4.4.
// Quirks that matter here:
//  - Code reaches data through 32-bit displacements: RIP-relative (PC32) in
//    PIC/PIE code, absolute (32S) in -fno-pic code.  The displacement is the
//    last field of a RIP-relative memory operand unless an immediate follows.
//  - `lea disp(%rip), %r64` is REX.W 8D /r with ModRM mod=00 r/m=101; the
//    same encoding with opcode 8B is `mov disp(%rip), %r64`: same length,
//    which is what `patch --indirect` relies on.
//  - GOTPCRELX / REX_GOTPCRELX mark GOT loads a linker may relax to lea; for
//    a block placed anywhere that relaxation must not happen, so --indirect
//    turns them into plain GOTPCREL.
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
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <array>

extern "C" {
void LLVMInitializeX86TargetInfo();
void LLVMInitializeX86TargetMC();
void LLVMInitializeX86Disassembler();
}

using namespace llvm;
using namespace llvm::ELF;

namespace percpu::elfpatch {
namespace {

// Bytes each relocation type writes (Target::relocWidth).
constexpr std::array<uint8_t, R_X86_64_REX_GOTPCRELX + 1> kRelocWidths = [] {
    std::array<uint8_t, R_X86_64_REX_GOTPCRELX + 1> w{};
    w.fill(4);
    for (uint32_t t : {R_X86_64_64, R_X86_64_PC64, R_X86_64_GOTOFF64, R_X86_64_GOTPC64, R_X86_64_SIZE64,
                       R_X86_64_GOT64, R_X86_64_GOTPCREL64, R_X86_64_DTPOFF64, R_X86_64_TPOFF64,
                       R_X86_64_DTPMOD64})
        w[t] = 8;
    w[R_X86_64_16] = w[R_X86_64_PC16] = 2;
    w[R_X86_64_8] = w[R_X86_64_PC8] = 1;
    w[R_X86_64_NONE] = 0;
    w[R_X86_64_TLSDESC_CALL] = 0; // a marker on `call *(%rax)`, which is 2 bytes
    return w;
}();

// Each relocation type's kind (the table in Target.h says what each computes).
constexpr RelExpr classify(uint32_t type)
{
    switch (type) {
    case R_X86_64_NONE: return RelExpr::None;
    case R_X86_64_64: case R_X86_64_32: case R_X86_64_32S: case R_X86_64_16: case R_X86_64_8:
        return RelExpr::Absolute;
    case R_X86_64_PC32: case R_X86_64_PC64: case R_X86_64_PC16: case R_X86_64_PC8:
        return RelExpr::PCRelative;
    case R_X86_64_PLT32: return RelExpr::PLT;
    case R_X86_64_GOTPCREL: case R_X86_64_GOTPCRELX: case R_X86_64_REX_GOTPCRELX:
    case R_X86_64_GOTPCREL64:
        return RelExpr::GotPCRelative;
    case R_X86_64_GOTOFF64: return RelExpr::GotRelative;
    case R_X86_64_GOT64: return RelExpr::GotOffset;
    case R_X86_64_PLTOFF64: return RelExpr::PltGotRelative;
    case R_X86_64_GOTPC32: case R_X86_64_GOTPC64: return RelExpr::GotBaseRelative;
    case R_X86_64_SIZE32: case R_X86_64_SIZE64: return RelExpr::Size;
    case R_X86_64_TLSGD: case R_X86_64_TLSLD: case R_X86_64_DTPOFF32: case R_X86_64_DTPOFF64:
    case R_X86_64_GOTTPOFF: case R_X86_64_TPOFF32: case R_X86_64_TPOFF64: case R_X86_64_DTPMOD64:
    case R_X86_64_GOTPC32_TLSDESC: case R_X86_64_TLSDESC_CALL: case R_X86_64_TLSDESC:
        return RelExpr::TLS;
    default: return RelExpr::Unknown;
    }
}

constexpr auto kRelExprs = relExprTable<R_X86_64_REX_GOTPCRELX + 1>(classify);

// The loader's relocation engine: each field's width and range (the psABI's
// table, section 4.4.1; lld's checks), its value computed by
// Target::relocValue from the kind (the expression beside each).
constexpr std::array<DataField, R_X86_64_REX_GOTPCRELX + 1> kDataFields = [] {
    std::array<DataField, R_X86_64_REX_GOTPCRELX + 1> f{};
    using C = FieldCheck;
    f[R_X86_64_64] = {8, C::None};             // S + A
    f[R_X86_64_PC32] = {4, C::Int};            // S + A - P
    f[R_X86_64_PLT32] = {4, C::Int};           // L + A - P
    f[R_X86_64_32] = {4, C::UInt};             // S + A, zero-extended by its user
    f[R_X86_64_32S] = {4, C::Int};             // S + A, sign-extended
    f[R_X86_64_PC64] = {8, C::None};           // S + A - P
    f[R_X86_64_GOTPCREL] = {4, C::Int};        // G + A - P.  Never relaxed to lea: the
    f[R_X86_64_GOTPCRELX] = {4, C::Int};       // target may be far (per-CPU blocks, libc).
    f[R_X86_64_REX_GOTPCRELX] = {4, C::Int};
    f[R_X86_64_GOTPCREL64] = {8, C::None};     // G + A - P
    f[R_X86_64_GOTOFF64] = {8, C::None};       // S + A - GOT
    f[R_X86_64_GOT64] = {8, C::None};          // G - GOT + A
    f[R_X86_64_PLTOFF64] = {8, C::None};       // L + A - GOT
    f[R_X86_64_GOTPC32] = {4, C::Int};         // GOT + A - P
    f[R_X86_64_GOTPC64] = {8, C::None};        // GOT + A - P
    f[R_X86_64_SIZE32] = {4, C::UInt};         // Z + A
    f[R_X86_64_SIZE64] = {8, C::None};         // Z + A
    f[R_X86_64_16] = {2, C::IntUInt};          // S + A
    f[R_X86_64_8] = {1, C::IntUInt};           // S + A
    f[R_X86_64_PC16] = {2, C::Int};            // S + A - P
    f[R_X86_64_PC8] = {1, C::Int};             // S + A - P
    // TLS (kTlsRelocs says what G and S are there).
    f[R_X86_64_TLSGD] = {4, C::Int};           // G + A - P
    f[R_X86_64_TLSLD] = {4, C::Int};           // G + A - P
    f[R_X86_64_GOTTPOFF] = {4, C::Int};        // G + A - P
    f[R_X86_64_GOTPC32_TLSDESC] = {4, C::Int}; // G + A - P
    f[R_X86_64_DTPOFF32] = {4, C::Int};        // S + A
    f[R_X86_64_DTPOFF64] = {8, C::None};       // S + A
    return f;
}();

// TLS relocations (Target.h's TlsUse table): the entry or offset each uses,
// then what it computes.  GOTPC32_TLSDESC's descriptor and TLSGD's pair are
// addressed like a GOT entry; R_X86_64_TLSDESC and DTPMOD64 are dynamic
// relocations, never in an object's code.
constexpr uint32_t kTlsFirst = R_X86_64_DTPMOD64;
constexpr std::array<TlsReloc, R_X86_64_TLSDESC - kTlsFirst + 1> kTlsRelocs = [] {
    std::array<TlsReloc, R_X86_64_TLSDESC - kTlsFirst + 1> t{};
    auto set = [&](uint32_t type, TlsUse use, RelExpr e) { t[type - kTlsFirst] = {use, e}; };
    set(R_X86_64_TLSGD, TlsUse::GdPair, RelExpr::GotPCRelative);           // G + A - P
    set(R_X86_64_TLSLD, TlsUse::LdPair, RelExpr::GotPCRelative);           // G + A - P
    set(R_X86_64_GOTPC32_TLSDESC, TlsUse::Descriptor, RelExpr::GotPCRelative);
    set(R_X86_64_GOTTPOFF, TlsUse::IeEntry, RelExpr::GotPCRelative);       // G + A - P
    set(R_X86_64_DTPOFF32, TlsUse::DtpOffset, RelExpr::Absolute);          // S + A
    set(R_X86_64_DTPOFF64, TlsUse::DtpOffset, RelExpr::Absolute);
    set(R_X86_64_TPOFF32, TlsUse::TpOffset, RelExpr::Absolute);
    set(R_X86_64_TPOFF64, TlsUse::TpOffset, RelExpr::Absolute);
    set(R_X86_64_TLSDESC_CALL, TlsUse::Marker, RelExpr::None);
    return t;
}();

class X86_64 final : public Target {
public:
    X86_64()
    {
        machine = EM_X86_64;
        name = "x86-64";
        absolute64 = R_X86_64_64;
        pc32 = R_X86_64_PC32;
        pltStubSize = 8;  // jmp *entry(%rip), padded
        farStubSize = 64; // the moved instruction, movabs, jmp back
        fieldToInstructionEnd = 4; // lea disp32(%rip): the field ends the instruction
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
    std::string symbolizedText(const Access &a, const Reloc &r, StringRef symbol) const override;
    Error writeFarStub(uint8_t *secBytes, const Section &sec, uint64_t secAddr, const Reloc &rel,
                       const std::vector<Reloc> &relocs, uint64_t symbolPlusAddend, uint8_t *stub,
                       uint64_t stubAddr) const override;
    bool addressToGotLoad(uint8_t *secBytes, const Section &sec, uint64_t offset) const override
    {
        // REX.W 8D /r with ModRM mod=00 r/m=101: lea disp32(%rip), %r64; the
        // field is the last four bytes.  8B makes it mov disp32(%rip), %r64.
        if (offset < 3 || offset + 4 > sec.size)
            return false;
        uint8_t *p = secBytes + offset - 3;
        if ((p[0] & 0xf8) != 0x48 || p[1] != 0x8d || (p[2] & 0xc7) != 0x05)
            return false;
        p[1] = 0x8b;
        return true;
    }
    void writePltStub(uint8_t *stub, uint64_t stubAddr, uint64_t gotEntry) const override;

private:
    // Instruction starts of a section, from a linear sweep (kept in the
    // section's instructionIndex).
    const std::vector<std::pair<uint64_t, uint64_t>> &instructions(const Section &sec) const;
    struct MemOperand {
        bool present = false;
        unsigned base = 0, index = 0, segment = 0;
        int64_t scale = 1, disp = 0;
    };
    MemOperand memoryOperand(const MCInst &inst) const;
    // After `mov sym@GOTPCREL(%rip), %reg`: whether the code then reads or
    // writes through %reg itself (no index register, %reg not yet changed).
    using Sweep = std::vector<std::pair<uint64_t, uint64_t>>;
    // With `slot`, the instruction at `at` stored the address to that stack
    // slot (base register, displacement) instead of a register.
    AccessKind gotLoadUse(const Section &sec, Sweep::const_iterator at, const Sweep &insts,
                          const MCInst &load, Access &a, const std::vector<Reloc> &relocs = {},
                          SymbolNames names = nullptr,
                          std::optional<std::pair<unsigned, int64_t>> slot = std::nullopt) const;
    // Whether `reg` holds an element index or a byte offset into an object
    // (never a unit offset) just before the instruction at `at`.
    bool holdsIndex(const Section &sec, const Sweep &insts, Sweep::const_iterator at, unsigned reg) const;

    const Disassembler *dis() const { return dis_.get(); }
    LazyDisassembler dis_{"x86_64-unknown-linux-gnu", [] {
        LLVMInitializeX86TargetInfo();
        LLVMInitializeX86TargetMC();
        LLVMInitializeX86Disassembler();
    }};
};

StringRef X86_64::relocName(uint32_t type) const
{
    switch (type) {
#define ELF_RELOC(name, value)                                                                    \
    case value:                                                                                   \
        return #name;
#include "llvm/BinaryFormat/ELFRelocs/x86_64.def"
#undef ELF_RELOC
    }
    return "R_X86_64_<unknown>";
}



const std::vector<std::pair<uint64_t, uint64_t>> &X86_64::instructions(const Section &sec) const
{
    if (sec.indexed)
        return sec.instructionIndex;
    std::vector<std::pair<uint64_t, uint64_t>> starts;
    ArrayRef<uint8_t> bytes(sec.data);
    for (uint64_t off = 0; off < bytes.size();) {
        auto d = dis() ? dis()->decode(bytes.drop_front(off), off) : std::nullopt;
        uint64_t size = d ? d->size : 1; // resynchronise past undecodable bytes
        if (d)
            starts.emplace_back(off, size);
        off += size;
    }
    sec.instructionIndex = std::move(starts);
    sec.indexed = true;
    return sec.instructionIndex;
}

X86_64::MemOperand X86_64::memoryOperand(const MCInst &inst) const
{
    MemOperand m;
    const MCInstrDesc &desc = dis()->instrInfo().get(inst.getOpcode());
    for (unsigned i = 0; i < desc.getNumOperands() && i + 4 < inst.getNumOperands(); ++i) {
#if LLVM_VERSION_MAJOR >= 16
        if (desc.operands()[i].OperandType != MCOI::OPERAND_MEMORY)
#else
        if (desc.OpInfo[i].OperandType != MCOI::OPERAND_MEMORY)
#endif
            continue;
        // X86 memory operands: base, scale, index, displacement, segment.
        m.present = true;
        m.base = inst.getOperand(i).isReg() ? inst.getOperand(i).getReg() : 0;
        m.index = inst.getOperand(i + 2).isReg() ? inst.getOperand(i + 2).getReg() : 0;
        m.scale = inst.getOperand(i + 1).isImm() ? inst.getOperand(i + 1).getImm() : 1;
        m.disp = inst.getOperand(i + 3).isImm() ? inst.getOperand(i + 3).getImm() : 0;
        m.segment = inst.getOperand(i + 4).isReg() ? inst.getOperand(i + 4).getReg() : 0;
        break;
    }
    return m;
}

// By the register's last definition in the same straight-line code: a shift
// or multiplication by a constant, a sign or zero extension, a 32-bit move
// or load, a scaled index with no base (`lea 0(,%rax,4), %rdx`).  A unit offset is a 64-bit value loaded from pcpu_unit_offset[]
// (or a value derived from one by adding), never any of these, so adding
// such a register to a canonical address leaves it canonical: `m[i][j]`
// computes the row offset so (`shl $4, %rax; add m@GOTPCREL(%rip), %rax`).
// Anything else, or no definition in sight, may be a unit offset.
bool X86_64::holdsIndex(const Section &sec, const Sweep &insts, Sweep::const_iterator at, unsigned reg) const
{
    if (!reg)
        return false;
    for (int steps = 0; at != insts.begin() && steps < 12; ++steps) {
        --at;
        auto d = dis()->decode(ArrayRef<uint8_t>(sec.data).drop_front(at->first), at->first);
        if (!d || dis()->endsStraightLine(d->inst))
            return false;
        if (!dis()->writesRegister(d->inst, reg))
            continue;
        const std::string name = dis()->opcodeName(d->inst);
        // lea 0(,%rax,4), %rdx: a scaled index with no base (gcc -O0).
        const MCInst &i = d->inst;
        const bool scaledLea = name == "LEA64r" && i.getNumOperands() >= 4 && i.getOperand(1).isReg() &&
                               !i.getOperand(1).getReg() && i.getOperand(2).isImm() && i.getOperand(2).getImm() > 1;
        return startsWith(name, "SHL64r") || startsWith(name, "SAL64r") || startsWith(name, "IMUL64rri") ||
               startsWith(name, "IMUL64rmi") || startsWith(name, "MOVSX64") || startsWith(name, "MOVZX") ||
               name == "MOV32rr" || name == "MOV32rm" || name == "CDQE" || scaledLea;
    }
    return false;
}

AccessKind X86_64::gotLoadUse(const Section &sec, Sweep::const_iterator at, const Sweep &insts,
                              const MCInst &load, Access &a, const std::vector<Reloc> &relocs,
                              SymbolNames names, std::optional<std::pair<unsigned, int64_t>> slot) const
{
    const MCRegisterInfo &mri = dis()->registerInfo();
    const unsigned loaded =
        !slot && load.getNumOperands() && load.getOperand(0).isReg() ? load.getOperand(0).getReg() : 0;
    if (!loaded && !slot)
        return AccessKind::GotLoad;
    // The registers holding the address: the loaded one and its copies
    // (`mov %rdx, %rdi` before a string instruction).
    std::vector<unsigned> regs;
    if (loaded)
        regs.push_back(loaded);
    auto holds = [&](unsigned r) {
        return r && std::any_of(regs.begin(), regs.end(), [&](unsigned h) { return mri.isSuperOrSubRegisterEq(h, r); });
    };
    auto found = [&](const MCInst &inst, uint64_t off) {
        a.text += "; then " + dis()->print(inst) + " at +0x" + utohexstr(off);
        a.useOffset = off;
        return AccessKind::Memory;
    };
    // Stack slots holding the address (a store of a held register to
    // disp(%rbp) or disp(%rsp)): a load from one holds it again.  What -O0
    // does with every local, and any level with a volatile pointer.
    std::vector<std::pair<unsigned, int64_t>> slots;
    if (slot)
        slots.push_back(*slot);
    const unsigned rbp = dis()->registerNamed("RBP"), rsp = dis()->registerNamed("RSP");
    auto slotted = [&](const MemOperand &s) {
        return s.present && !s.index && !s.segment && (s.base == rbp || s.base == rsp) &&
               std::find(slots.begin(), slots.end(), std::make_pair(s.base, s.disp)) != slots.end();
    };
    // Follow the registers through the next few instructions of the same
    // straight-line code (more of them while a stack slot holds it).
    for (auto it = std::next(at); it != insts.end() && it - at <= (slots.empty() ? 8 : 16); ++it) {
        auto d = dis()->decode(ArrayRef<uint8_t>(sec.data).drop_front(it->first), it->first);
        if (!d)
            break;
        const MCInstrDesc &desc = dis()->instrInfo().get(d->inst.getOpcode());
        const std::string name = dis()->opcodeName(d->inst);
        MemOperand m = memoryOperand(d->inst);
        // The canonical address as the base, with no index, or with one
        // scaled by 2, 4 or 8: a unit offset is a byte offset, added at
        // scale 1, so a scaled index is an element index (`arr[i]`) and
        // the access is still canonical.  At scale 1 the index may be the
        // offset.  A segment override (%fs:/%gs:) is another address space.
        // An index at scale 1, or a base, that holds an element offset
        // (holdsIndex) keeps it canonical too.
        bool usesAsBase = m.present && !m.segment &&
                          ((holds(m.base) && (!m.index || m.scale != 1 || holdsIndex(sec, insts, it, m.index))) ||
                           (holds(m.index) && m.scale == 1 && !holds(m.base) && holdsIndex(sec, insts, it, m.base)));
        bool isLea = startsWith(name, "LEA");
        if (usesAsBase && !isLea && (desc.mayLoad() || desc.mayStore()))
            return found(d->inst, it->first);
        // String instructions (what gcc inlines memset and memcpy as):
        // stos writes through %rdi, movs and cmps read %rsi and write or
        // read %rdi, all implicitly.
        const bool stos = startsWith(name, "STOS"), movs = name.size() == 5 && startsWith(name, "MOVS"),
                   cmps = startsWith(name, "CMPS");
        const unsigned rdi = dis()->registerNamed("RDI"), rsi = dis()->registerNamed("RSI");
        if (((stos || movs || cmps) && holds(rdi)) || ((movs || cmps) && holds(rsi)))
            return found(d->inst, it->first);
        if (dis()->endsStraightLine(d->inst)) {
            // A call or tail jump to memset & co. with the address as a
            // pointer argument (%rdi, %rsi) reads or writes through it.
            const Reloc *call = names ? relocationIn(relocs, it->first, it->first + it->second) : nullptr;
            const unsigned through = call ? dereferencedArguments(names(call->symbol)) : 0;
            if (((through & 1) && holds(dis()->registerNamed("RDI"))) ||
                ((through & 2) && holds(dis()->registerNamed("RSI"))))
                return found(d->inst, it->first);
            break;
        }
        // A register-to-register copy of a held register holds it too.
        if (name == "MOV64rr" && d->inst.getNumOperands() >= 2 && d->inst.getOperand(1).isReg() &&
            holds(d->inst.getOperand(1).getReg())) {
            regs.push_back(d->inst.getOperand(0).getReg());
            continue;
        }
        // A store to a stack slot, and a load from one.
        if (name == "MOV64mr" && m.present && !m.index && !m.segment && (m.base == rbp || m.base == rsp)) {
            const MCOperand &src = d->inst.getOperand(d->inst.getNumOperands() - 1);
            slots.erase(std::remove(slots.begin(), slots.end(), std::make_pair(m.base, m.disp)), slots.end());
            if (src.isReg() && holds(src.getReg()))
                slots.emplace_back(m.base, m.disp);
            continue;
        }
        if (name == "MOV64rm" && d->inst.getOperand(0).isReg() && slotted(m)) {
            regs.push_back(d->inst.getOperand(0).getReg());
            continue;
        }
        // The address plus a constant is the canonical address of a member
        // or an element: `add $4, %rax`.
        if ((startsWith(name, "ADD64ri") || startsWith(name, "SUB64ri")) && d->inst.getOperand(0).isReg() &&
            holds(d->inst.getOperand(0).getReg()))
            continue;
        // The canonical address plus an element offset is still canonical:
        // `add %rcx, %rax` (either one held, the other an index) and
        // `lea (%rax,%rcx,4), %rdx` (a held base, a scaled or index-holding
        // index).
        if (name == "ADD64rr" && d->inst.getNumOperands() >= 3 && d->inst.getOperand(0).isReg() &&
            d->inst.getOperand(2).isReg()) {
            const unsigned dst = d->inst.getOperand(0).getReg(), src = d->inst.getOperand(2).getReg();
            if (holds(dst) != holds(src) && holdsIndex(sec, insts, it, holds(dst) ? src : dst)) {
                if (!holds(dst))
                    regs.push_back(dst);
                continue;
            }
        }
        if (name == "LEA64r" && d->inst.getNumOperands() >= 6 && d->inst.getOperand(0).isReg()) {
            MemOperand l;
            l.base = d->inst.getOperand(1).isReg() ? d->inst.getOperand(1).getReg() : 0;
            l.scale = d->inst.getOperand(2).isImm() ? d->inst.getOperand(2).getImm() : 1;
            l.index = d->inst.getOperand(3).isReg() ? d->inst.getOperand(3).getReg() : 0;
            if (holds(l.base) && (!l.index || l.scale != 1 || holdsIndex(sec, insts, it, l.index))) {
                regs.push_back(d->inst.getOperand(0).getReg());
                continue;
            }
        }
        regs.erase(std::remove_if(regs.begin(), regs.end(),
                                  [&](unsigned r) { return dis()->writesRegister(d->inst, r); }),
                   regs.end());
        // %rsp-relative slots move with %rsp (push, pop, sub, and).
        if (dis()->writesRegister(d->inst, rsp) || startsWith(name, "PUSH") || startsWith(name, "POP"))
            slots.erase(std::remove_if(slots.begin(), slots.end(), [&](const auto &s) { return s.first == rsp; }),
                        slots.end());
        if (dis()->writesRegister(d->inst, rbp))
            slots.clear();
        if (regs.empty() && slots.empty())
            break;
    }
    return AccessKind::GotLoad;
}

Access X86_64::classifyAccess(const Section &sec, const Reloc &rel, const std::vector<Reloc> &relocs,
                              SymbolNames names) const
{
    Access a;
    RelExpr e = relExpr(rel.type);
    if (!(sec.flags & SHF_EXECINSTR)) {
        a.kind = AccessKind::Data;
        return a;
    }
    const auto &insts = instructions(sec);
    auto it = std::upper_bound(insts.begin(), insts.end(), rel.offset,
                               [](uint64_t off, const auto &p) { return off < p.first; });
    if (it == insts.begin())
        return a;
    --it;
    if (rel.offset >= it->first + it->second)
        return a;
    a.instOffset = it->first;
    a.instSize = it->second;
    auto d = dis()->decode(ArrayRef<uint8_t>(sec.data).drop_front(a.instOffset), a.instOffset);
    if (!d)
        return a;
    a.text = dis()->print(d->inst);
    std::string name = dis()->opcodeName(d->inst);
    if (e == RelExpr::GotPCRelative) {
        // Only a plain load of the GOT entry (mov sym@GOTPCREL(%rip), %reg)
        // puts the canonical address in a register, to be followed.  An
        // add or sub of the entry into a register (what gcc -fPIC -O1 and
        // above emit once it holds the unit offset: `add arr@GOTPCREL(%rip),
        // %rcx`) yields a CPU's copy; cmp, test, push and call through the
        // slot yield no register at all.
        // An add into a register that holds an element offset, not a unit
        // offset (clang's `m[i][j]`), gives the canonical address again.
        const bool load = name == "MOV64rm" ||
                          (name == "ADD64rm" && d->inst.getOperand(0).isReg() &&
                           holdsIndex(sec, insts, it, d->inst.getOperand(0).getReg()));
        a.kind = load ? gotLoadUse(sec, it, insts, d->inst, a, relocs, names) : AccessKind::GotLoad;
        return a;
    }
    if (startsWith(name, "LEA")) {
        // `lea sym(%rip), %reg` (-fPIE) puts the canonical address in a
        // register, as a GOT load does (-fPIC): follow it the same way.
        // (LEA's address operand is not typed as memory: operands 1-5.)
        const MCInst &lea = d->inst;
        auto reg = [&](unsigned i) { return i < lea.getNumOperands() && lea.getOperand(i).isReg() ? lea.getOperand(i).getReg() : 0u; };
        const unsigned base = reg(1), index = reg(3);
        const bool rip = base && StringRef(dis()->registerInfo().getName(base)) == "RIP";
        a.kind = rip && !index && e == RelExpr::PCRelative ? gotLoadUse(sec, it, insts, lea, a, relocs, names)
                                                           : AccessKind::Address;
        if (a.kind == AccessKind::GotLoad)
            a.kind = AccessKind::Address;
        return a;
    }
    MemOperand m = memoryOperand(d->inst);
    if (!m.present) {
        // The address is an immediate operand; `mov $sym, %reg` (-fno-pic)
        // puts it in a register, followed as a GOT load is.
        a.kind = AccessKind::Address;
        if (e == RelExpr::Absolute && (name == "MOV32ri" || name == "MOV64ri32" || name == "MOV64ri") &&
            gotLoadUse(sec, it, insts, d->inst, a, relocs, names) == AccessKind::Memory)
            a.kind = AccessKind::Memory;
        return a;
    }
    const MCRegisterInfo &mri = dis()->registerInfo();
    bool ripBase = m.base && StringRef(mri.getName(m.base)) == "RIP";
    uint64_t end = a.instOffset + a.instSize;
    // %gs:var / %fs:var (kernel code: %gs:var(%rip), %gs:var): the memory
    // operand is the per-CPU access itself, whether or not a base is there.
    bool segmented = m.segment && (StringRef(mri.getName(m.segment)) == "GS" ||
                                   StringRef(mri.getName(m.segment)) == "FS");
    // `movq $sym, -8(%rsp)` (-fno-pic): the address stored to a stack slot,
    // followed through its reload.
    if (e == RelExpr::Absolute && name == "MOV64mi32" && !m.index && !m.segment && rel.offset + 4 == end &&
        (m.base == dis()->registerNamed("RBP") || m.base == dis()->registerNamed("RSP"))) {
        a.kind = gotLoadUse(sec, it, insts, d->inst, a, relocs, names, std::make_pair(m.base, m.disp)) ==
                         AccessKind::Memory
                     ? AccessKind::Memory
                     : AccessKind::Address;
        return a;
    }
    if (e == RelExpr::PCRelative || e == RelExpr::PLT) {
        // Immediates are never PC-relative: this is the displacement.
        a.kind = !ripBase ? AccessKind::Address
                 : segmented ? AccessKind::SegmentMemory
                             : AccessKind::Memory;
        return a;
    }
    // disp(%reg): the canonical address plus a register, the per-CPU offset
    // arithmetic of -fno-pic code, unless the registers hold element
    // offsets (`m(%rax,%rcx,4)` after `shl $4, %rax`): then still canonical.
    if ((m.base && !holdsIndex(sec, insts, it, m.base)) ||
        (m.index && m.scale == 1 && !holdsIndex(sec, insts, it, m.index))) {
        a.kind = AccessKind::Address;
        return a;
    }
    // disp(,%reg,4): the canonical address plus an element index (a unit
    // offset is added at scale 1), read or written: `arr[i]` of -fno-pic code.
    if (m.index) {
        const MCInstrDesc &desc = dis()->instrInfo().get(d->inst.getOpcode());
        a.kind = segmented ? AccessKind::SegmentMemory
                 : (desc.mayLoad() || desc.mayStore()) ? AccessKind::Memory
                                                       : AccessKind::Address;
        return a;
    }
    // Absolute address, no base or index: a memory access unless the
    // relocation is an immediate that follows the displacement.
    bool hasImm = false;
    for (unsigned i = 0; i < d->inst.getNumOperands(); ++i)
        hasImm |= d->inst.getOperand(i).isImm();
    bool immediate = hasImm && rel.offset + 4 == end && rel.offset >= a.instOffset + 8;
    a.kind = immediate ? AccessKind::Address : segmented ? AccessKind::SegmentMemory : AccessKind::Memory;
    return a;
}

// The RIP-relative operand of the instruction holding `r` (the first one of
// the text; what follows "; then " is later instructions) as `sym+k(%rip)`:
// k is what the instruction computes, the addend plus the bytes from the
// field to the instruction's end (4, or more when an immediate follows).
// GOT and PLT references name their table as the assembler does.
std::string X86_64::symbolizedText(const Access &a, const Reloc &r, StringRef symbol) const
{
    const size_t cut = a.text.find("; then ");
    std::string head = a.text.substr(0, cut);
    const size_t rip = head.find("(%rip)");
    if (symbol.empty() || r.offset < a.instOffset || r.offset >= a.instOffset + a.instSize)
        return a.text;
    if (rip == std::string::npos) {
        // An absolute displacement (-fno-pic): `arr+8(,%rax,4)`, where the
        // disassembler prints `0x8(,%rax,4)` or `(,%rax,4)`.
        const size_t paren = head.find('(');
        if (relExpr(r.type) != RelExpr::Absolute || paren == std::string::npos || head.find('$') < paren)
            return a.text;
        size_t disp = paren;
        while (disp > 0 && (isAlnum(head[disp - 1]) || head[disp - 1] == '-'))
            --disp;
        if (disp > 0 && head[disp - 1] == '%') // a register, not a displacement
            return a.text;
        std::string operand = symbol.str();
        if (r.addend > 0)
            operand += "+" + std::to_string(r.addend);
        else if (r.addend < 0)
            operand += "-" + std::to_string(-static_cast<uint64_t>(r.addend));
        head.replace(disp, paren - disp, operand);
        return cut == std::string::npos ? head : head + a.text.substr(cut);
    }
    size_t disp = rip; // the displacement printed before "(%rip)": the field, not the target
    while (disp > 0 && (isAlnum(head[disp - 1]) || head[disp - 1] == '-'))
        --disp;
    // Wrapping arithmetic: a damaged object's addend may be near INT64_MAX.
    const int64_t k = static_cast<int64_t>(static_cast<uint64_t>(r.addend) + (a.instOffset + a.instSize - r.offset));
    std::string operand = symbol.str();
    const RelExpr e = relExpr(r.type);
    if (e == RelExpr::GotPCRelative)
        operand += "@GOTPCREL";
    else if (e == RelExpr::PLT)
        operand += "@PLT";
    if (k > 0)
        operand += "+" + std::to_string(k);
    else if (k < 0)
        operand += "-" + std::to_string(-static_cast<uint64_t>(k));
    head.replace(disp, rip - disp, operand);
    return cut == std::string::npos ? head : head + a.text.substr(cut);
}

Error X86_64::rewriteIndirect(const ObjectFile &obj, Section &sec, Reloc &rel,
                              const std::vector<Reloc> &relocs,
                              const std::function<SlotRef(uint32_t, int64_t)> &slotFor) const
{
    RelExpr e = relExpr(rel.type);
    const std::string symName = obj.symbols[rel.symbol].name;
    auto cannot = [&](const std::string &why, const Access *a) {
        std::string msg = "cannot make " + relocName(rel.type).str() + " against '" + symName +
                          "' reach a block placed anywhere: " + why;
        if (a && !a->text.empty())
            msg += " (" + a->text + ")";
        return makeError(Rule::DirectAccess, obj.path, sec.name, rel.offset, symName, msg);
    };
    switch (e) {
    case RelExpr::None:
    case RelExpr::Size:
        return Error::success();
    case RelExpr::GotPCRelative:
        // The instruction reads the 8-byte GOT entry holding the address, as
        // a memory operand (mov, add, cmp, push, call *...): a slot is the
        // same word, so only the relocation changes.  The slot's own
        // relocation names the symbol, so the dynamic loader resolves it
        // with the GOT entry's rules (interposition, copy relocations), and
        // it is writable data, not RELRO: the start-up code points it at the
        // block without mprotect().  The linker can no longer relax the load
        // into a `lea` of the template (-Bsymbolic, hidden or local symbols).
        if (rel.type == R_X86_64_GOTPCREL || rel.type == R_X86_64_GOTPCRELX ||
            rel.type == R_X86_64_REX_GOTPCRELX) {
            SlotRef slot = slotFor(rel.symbol, 0);
            rel.type = R_X86_64_PC32;
            rel.symbol = slot.symbol;
            rel.addend = static_cast<int64_t>(static_cast<uint64_t>(rel.addend) + slot.offset);
        }
        return Error::success();
    case RelExpr::GotOffset:
    case RelExpr::GotRelative:
        // Large code model: 64-bit offsets from the GOT base reach anywhere.
        return Error::success();
    case RelExpr::Absolute:
        if (rel.type == R_X86_64_64)
            return Error::success();
        return cannot("a 32-bit absolute address (compile with -fPIC or -fPIE)", nullptr);
    case RelExpr::PCRelative:
        break;
    default:
        return cannot("not an address computation", nullptr);
    }
    if (!(sec.flags & SHF_EXECINSTR))
        return cannot("a PC-relative reference in data", nullptr);
    Access a = classifyAccess(sec, rel, relocs);
    if (a.kind != AccessKind::Address)
        return cannot(a.kind == AccessKind::Memory ? "the instruction reads or writes the canonical "
                                                     "address directly"
                                                   : "the instruction could not be decoded",
                      &a);
    const uint8_t *p = sec.data.data() + a.instOffset;
    // REX.W (0x48..0x4f) 8D, ModRM mod=00 r/m=101 (RIP-relative), disp32 last.
    bool rexW = a.instSize == 7 && (p[0] & 0xf8) == 0x48 && p[1] == 0x8d &&
                (p[2] & 0xc7) == 0x05 && rel.offset == a.instOffset + 3;
    if (!rexW)
        return cannot("only `lea sym(%rip), %r64` can be rewritten", &a);
    uint64_t fromPlace = a.instOffset + a.instSize - rel.offset; // 4
    // Addends are arbitrary 64-bit values: wrap as the linker would.
    int64_t target = static_cast<int64_t>(static_cast<uint64_t>(rel.addend) + fromPlace);
    SlotRef slot = slotFor(rel.symbol, target);
    sec.data[a.instOffset + 1] = 0x8b; // lea -> mov: load the address from the slot
    rel.symbol = slot.symbol;
    rel.addend = static_cast<int64_t>(slot.offset - fromPlace);
    return Error::success();
}

// Every x86-64 relocation the engine applies is a data field (kDataFields):
// Target::applyRelocation writes it.  What reaches here is not applied.
Error X86_64::relocate(uint32_t type, uint8_t *, uint64_t, function_ref<Diagnostic()> where) const
{
    return unsupportedRelocation(type, where);
}

// jmp *gotEntry(%rip) ; ud2        (ff 25 disp32 ; 0f 0b)
void X86_64::writePltStub(uint8_t *stub, uint64_t stubAddr, uint64_t gotEntry) const
{
    stub[0] = 0xff; // jmp *disp32(%rip)
    stub[1] = 0x25;
    support::endian::write32le(stub + 2, static_cast<uint32_t>(gotEntry - (stubAddr + 6)));
    stub[6] = 0x0f; // ud2: never reached
    stub[7] = 0x0b;
}

// A far access moved out of line. The instruction `op disp32(%rip)` becomes
// `jmp stub` (the rest of its bytes int3), and the stub does, without
// touching the flags:
//     lea -128(%rsp), %rsp      skip the red zone leaf code may use
//     push %r11                 a scratch register (%r10 if the instruction
//     movabs $address, %r11       itself names %r11)
//     op (%r11)                 the same instruction, memory operand [%r11]
//     pop %r11
//     lea 128(%rsp), %rsp
//     jmp back                  to the instruction after the original
// Legacy and REX encodings only: VEX/EVEX instructions, control flow, stack
// operations, instructions naming %rsp or a high-byte register (a REX prefix
// would change it), and instructions holding another relocation are refused.
Error X86_64::writeFarStub(uint8_t *secBytes, const Section &sec, uint64_t secAddr, const Reloc &rel,
                           const std::vector<Reloc> &relocs, uint64_t symbolPlusAddend, uint8_t *stub,
                           uint64_t stubAddr) const
{
    auto cannot = [&](const std::string &why) {
        return make_error<StringError>(why, inconvertibleErrorCode());
    };
    Access a = classifyAccess(sec, rel, relocs);
    if (a.kind != AccessKind::Memory)
        return cannot("the instruction at the reference is not a memory access that can be moved");
    const uint64_t start = a.instOffset, end = a.instOffset + a.instSize;
    if (rel.offset < start + 2 || rel.offset + 4 > end || a.instSize < 6)
        return cannot("unexpected encoding of '" + a.text + "'");
    for (const Reloc &other : relocs)
        if (&other != &rel && other.offset < end && other.offset + 4 > start && other.offset != rel.offset)
            return cannot("'" + a.text + "' holds another relocation");
    auto d = dis()->decode(ArrayRef<uint8_t>(sec.data).drop_front(start), start);
    if (!d)
        return cannot("the instruction does not decode");
    const MCInstrDesc &desc = dis()->instrInfo().get(d->inst.getOpcode());
    std::string name = dis()->opcodeName(d->inst);
    if (desc.isCall() || desc.isBranch() || desc.isReturn() || startsWith(name, "PUSH") ||
        startsWith(name, "POP"))
        return cannot("'" + a.text + "' transfers control or uses the stack");
    const MCRegisterInfo &mri = dis()->registerInfo();
    for (unsigned i = 0; i < d->inst.getNumOperands(); ++i) {
        const MCOperand &op = d->inst.getOperand(i);
        if (!op.isReg() || !op.getReg())
            continue;
        StringRef r = mri.getName(op.getReg());
        if (r == "RSP" || r == "ESP" || r == "SP" || r == "SPL")
            return cannot("'" + a.text + "' uses the stack pointer");
        if (r == "AH" || r == "BH" || r == "CH" || r == "DH")
            return cannot("'" + a.text + "' names a high-byte register");
    }

    // Split the encoding: legacy prefixes, REX, opcode, ModRM, disp32, imm.
    const uint8_t *p = sec.data.data() + start;
    size_t i = 0;
    auto isLegacyPrefix = [](uint8_t b) {
        return b == 0x66 || b == 0xf2 || b == 0xf3 || b == 0xf0 || b == 0x2e || b == 0x36 || b == 0x3e ||
               b == 0x26 || b == 0x64 || b == 0x65;
    };
    while (i < a.instSize && isLegacyPrefix(p[i]))
        ++i;
    if (i < a.instSize && p[i] == 0x67)
        return cannot("'" + a.text + "' uses 32-bit addressing");
    size_t prefixEnd = i;
    uint8_t rex = 0;
    if (i < a.instSize && (p[i] & 0xf0) == 0x40)
        rex = p[i++];
    if (i >= a.instSize || p[i] == 0xc4 || p[i] == 0xc5 || p[i] == 0x62 || p[i] == 0x8f)
        return cannot("'" + a.text + "' has a VEX/EVEX/XOP encoding");
    const size_t modrmAt = rel.offset - start - 1;
    const uint8_t modrm = p[modrmAt];
    if (modrmAt < i || (modrm & 0xc7) != 0x05)
        return cannot("'" + a.text + "' is not RIP-relative at the reference");
    unsigned regField = ((rex >> 2) & 1) << 3 | ((modrm >> 3) & 7);
    const unsigned scratch = regField == 11 ? 10 : 11; // r10 or r11: never implicit operands

    std::vector<uint8_t> code;
    auto emit = [&](std::initializer_list<uint8_t> bytes) { code.insert(code.end(), bytes); };
    emit({0x48, 0x8d, 0x64, 0x24, 0x80});                            // lea -128(%rsp), %rsp
    emit({0x41, static_cast<uint8_t>(0x50 + (scratch & 7))});         // push %r1x
    uint64_t address = symbolPlusAddend + (end - rel.offset);
    emit({0x49, static_cast<uint8_t>(0xb8 + (scratch & 7))});         // movabs $address, %r1x
    for (int k = 0; k < 8; ++k)
        code.push_back(static_cast<uint8_t>(address >> (8 * k)));
    code.insert(code.end(), p, p + prefixEnd);                        // the instruction, [%r1x]
    code.push_back(static_cast<uint8_t>((rex ? rex : 0x40) | 0x01)); // REX.B: r8..r15 as base
    code.insert(code.end(), p + (rex ? prefixEnd + 1 : prefixEnd), p + modrmAt);
    code.push_back(static_cast<uint8_t>((modrm & 0x38) | (scratch & 7))); // mod 00, rm = r1x
    code.insert(code.end(), p + (rel.offset - start) + 4, p + a.instSize);
    emit({0x41, static_cast<uint8_t>(0x58 + (scratch & 7))});         // pop %r1x
    emit({0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00});           // lea 128(%rsp), %rsp
    code.push_back(0xe9);                                             // jmp back
    uint64_t back = secAddr + end;
    int64_t rel32 = static_cast<int64_t>(back - (stubAddr + code.size() + 4));
    int64_t there = static_cast<int64_t>(stubAddr - (secAddr + start + 5));
    if (rel32 < INT32_MIN || rel32 > INT32_MAX || there < INT32_MIN || there > INT32_MAX)
        return cannot("the stub is out of reach of the code");
    for (int k = 0; k < 4; ++k)
        code.push_back(static_cast<uint8_t>(static_cast<uint64_t>(rel32) >> (8 * k)));
    if (code.size() > farStubSize)
        return cannot("'" + a.text + "' does not fit in a stub");
    std::memcpy(stub, code.data(), code.size());
    std::memset(stub + code.size(), 0xcc, farStubSize - code.size());
    uint8_t *site = secBytes + start;                                 // jmp stub; int3...
    site[0] = 0xe9;
    support::endian::write32le(site + 1, static_cast<uint32_t>(there));
    std::memset(site + 5, 0xcc, a.instSize - 5);
    return Error::success();
}

} // namespace

std::unique_ptr<Target> createX86_64Target() { return std::make_unique<X86_64>(); }

} // namespace percpu::elfpatch
