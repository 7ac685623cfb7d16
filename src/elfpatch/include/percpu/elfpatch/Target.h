//===- Target.h - what differs by architecture, for object analysis -------===//
//
// Generic code never switches on e_machine: it asks the Target.  Two levels
// as in lld: every relocation type maps to an arch-neutral expression kind
// (RelExpr) that generic code reasons about; the arch knows the encodings.
// Each architecture implements it in arch/<arch>/Target.cpp; targetFor()
// (Target.cpp) is the one place that picks one by e_machine.  A Target is
// built once per machine and process and never changes after: it holds no
// state of the objects it reads (x86-64's decoding sweep is kept with the
// Section), so one instance serves every object and thread.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_TARGET_H
#define PERCPU_ELFPATCH_TARGET_H

#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Object.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Error.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace percpu::elfpatch {

// The value a relocation computes, arch-neutral, as lld's RelExpr: generic
// code computes it once (relocValue) from the psABI letters of RelocValues
// below, and the arch only encodes it into the field, checking its range
// (Target::relocate).  G here is the *address* of the symbol's GOT entry (the
// psABI's G is its offset, so "G + GOT" there is "G" here).
//
//   kind              value                    relocation types (x86-64 | AArch64)
//   None              nothing is written       X86_64_NONE | AARCH64_NONE
//   Absolute          S + A                    64, 32 (fits uint32), 32S (fits int32),
//                                              16 and 8 (fit int or uint) |
//                                              ABS64, ABS32, ABS16 (int or uint),
//                                              MOVW_UABS_G0..G3 (the 16 bits at 0, 16,
//                                              32, 48; the checked forms: nothing above)
//   PCRelative        S + A - P                PC32 (int32), PC64, PC16, PC8 (int16, int8) |
//                                              PREL64, PREL32, PREL16 (int or uint),
//                                              ADR_PREL_LO21 (int21), LD_PREL_LO19,
//                                              CONDBR19, TSTBR14 (a multiple of 4, int21,
//                                              int16 after scaling)
//   PLT               L + A - P                PLT32 (int32) | CALL26, JUMP26 (a multiple
//                                              of 4, int28): L is a stub when S is out
//                                              of the branch's reach
//   GotPCRelative     G + A - P                GOTPCREL, GOTPCRELX, REX_GOTPCRELX (int32),
//                                              GOTPCREL64
//   GotOffset         G - GOT + A              GOT64
//   PltGotRelative    L + A - GOT              PLTOFF64
//   GotRelative       S + A - GOT              GOTOFF64
//   GotBaseRelative   GOT + A - P              GOTPC32 (int32), GOTPC64
//   Size              Z + A                    SIZE32 (uint32), SIZE64
//   PageRelative      Page(S + A) - Page(P)    | ADR_PREL_PG_HI21 (int33), _NC (unchecked)
//   PageOffset        S + A                    | ADD_ABS_LO12_NC, LDST{8,16,32,64,128}_ABS_LO12_NC:
//                                              bits 0-11, scaled by the access size
//   GotPageRelative   Page(G + A) - Page(P)    | ADR_GOT_PAGE (int33)
//   GotPageOffset     G + A                    | LD64_GOT_LO12_NC: bits 0-11, scaled by 8
//   GotPageBaseOffset G + A - Page(GOT)        | LD64_GOTPAGE_LO15 (uint15), scaled by 8
//   PageBaseOffset    S + A - Page(GOT)        none: what the loader's GOT makes of the
//                                              above once it points the edge at the entry
//   TLS               see TlsUse below: the loader sets G or S, then computes
//                     the TlsReloc's kind
//   Unknown           refused: unsupported-relocation
//
// Errors: a value out of its field's range is a RelocationRangeError (rule
// relocation-overflow, with the value and the range; the loader's far path
// reads these records); a misaligned AArch64 branch or literal is a
// relocation-overflow diagnostic without a record; TLS and unknown types are
// unsupported-relocation.  Page(x) is x & ~0xfff.
enum class RelExpr {
    None,
    Absolute,
    PCRelative,
    PLT,
    GotPCRelative,
    GotOffset,
    PltGotRelative,
    GotRelative,
    GotBaseRelative,
    Size,
    PageRelative,
    PageOffset,
    GotPageRelative,
    GotPageOffset,
    GotPageBaseOffset,
    PageBaseOffset,
    TLS,
    Unknown,
};

// The table of relocation kinds an arch's constructor sets (Target::relExprs),
// built at compile time from its classification of types 0..N-1.
template <size_t N, typename Classify> constexpr std::array<RelExpr, N> relExprTable(Classify classify)
{
    std::array<RelExpr, N> e{};
    for (uint32_t t = 0; t < N; ++t)
        e[t] = classify(t);
    return e;
}

// Whether kind `e` reads the symbol's GOT entry (G): the loader makes one.
inline bool needsGot(RelExpr e)
{
    constexpr uint32_t kinds = 1u << unsigned(RelExpr::GotPCRelative) | 1u << unsigned(RelExpr::GotOffset) |
                               1u << unsigned(RelExpr::GotPageRelative) |
                               1u << unsigned(RelExpr::GotPageOffset) |
                               1u << unsigned(RelExpr::GotPageBaseOffset);
    return (kinds >> unsigned(e)) & 1;
}

// Thread-local storage (RelExpr::TLS).  A TLS relocation reads an entry of
// the module's TLS tables, or the symbol's offset in a TLS block, and then
// computes an ordinary kind with it: the loader puts the entry's address in
// RelocValues::G (or the offset in S) and applies `expr`.
//
//   use          what G or S is                           x86-64 | AArch64
//   GdPair       G: the symbol's {module, offset} pair    TLSGD | TLSGD_ADR_PAGE21, _ADD_LO12_NC
//   LdPair       G: the module's {module, 0} pair         TLSLD | TLSLD_ADR_PAGE21, _ADD_LO12_NC
//   Descriptor   G: the symbol's TLS descriptor           GOTPC32_TLSDESC | TLSDESC_ADR_PAGE21,
//                                                         TLSDESC_LD64_LO12, TLSDESC_ADD_LO12
//   IeEntry      G: a word holding the thread-pointer     GOTTPOFF | TLSIE_ADR_GOTTPREL_PAGE21,
//                offset (initial exec)                    TLSIE_LD64_GOTTPREL_LO12_NC
//   DtpOffset    S: the offset in the module's block      DTPOFF32, DTPOFF64 | TLSLD_ADD_DTPREL_*,
//                                                         TLSLD_LDST*_DTPREL_LO12*
//   TpOffset     S: the thread-pointer offset (local      TPOFF32, TPOFF64 | TLSLE_*
//                exec)
//   Marker       nothing is written                       TLSDESC_CALL | TLSDESC_CALL
//   Unsupported  refused (dynamic-only types, the tiny and large code models' TLS forms)
enum class TlsUse : uint8_t { Unsupported, GdPair, LdPair, Descriptor, IeEntry, DtpOffset, TpOffset, Marker };
struct TlsReloc {
    TlsUse use = TlsUse::Unsupported;
    RelExpr expr = RelExpr::None; // what it computes once G or S is set
};

// What the instruction at a relocation does with the address.
enum class AccessKind {
    Address,      // computes the address (x86-64 lea, AArch64 adrp/add): fine
    Memory,       // loads or stores through it: a direct access
    SegmentMemory,// loads or stores through it with a segment override (x86-64
                  // %gs:/%fs:): in a kernel module, the per-CPU access itself
    GotLoad,      // loads the address from a GOT entry: fine
    Data,         // not an instruction (a data or debug section)
    Undecodable,  // the bytes did not decode
};

struct Access {
    AccessKind kind = AccessKind::Undecodable;
    uint64_t instOffset = 0;  // start of the instruction in its section
    uint64_t instSize = 0;
    std::string text;         // disassembly, for messages
    // Where the memory access is when a later instruction makes it (the
    // load or store through a register a GOT load filled): the place a
    // developer looks for, in the same section.  nullopt: the instruction
    // at instOffset itself.
    std::optional<uint64_t> useOffset;
    // Constants the followed code added to the address before that access
    // (AArch64: gcc's section anchor plus the variable's offset), so that
    // the variable is the one at the reference's target plus this.
    int64_t addedOffset = 0;
};

// A slot for `patch --indirect`: an 8-byte literal holding symbol + addend.
struct IndirectSlot {
    uint32_t symbol = 0;
    int64_t addend = 0;
};

// A relocation field that is plain data in memory (little-endian, `bytes`
// wide) and the range its value must fit: generic code writes these
// without asking the arch (Target::dataFields).  Fields inside instructions
// (AArch64's immediates) are the arch's relocate().
enum class FieldCheck : uint8_t { None, Int, UInt, IntUInt };
struct DataField {
    uint8_t bytes = 0; // 0: not a data field
    FieldCheck check = FieldCheck::None;
};

class Target {
public:
    virtual ~Target();

    // ---- What the arch is: data its constructor sets (as lld's TargetInfo),
    // not virtuals answering 0 for "cannot". ----
    uint16_t machine = 0;          // e_machine
    const char *name = "";         // for messages: "x86-64", "AArch64"
    uint32_t absolute64 = 0;       // the relocation type of an 8-byte absolute address
    uint32_t pc32 = 0;             // the 32-bit PC-relative type far stubs handle (0: none)
    int64_t branchReach = int64_t{1} << 31; // how far a direct call reaches, either way
    unsigned gotEntrySize = 8;     // bytes of one GOT entry
    unsigned pltStubSize = 0;      // bytes of one PLT stub (writePltStub)
    unsigned farStubSize = 0;      // bytes of one far-access stub (writeFarStub; 0: none)
    llvm::ArrayRef<uint8_t> relocWidths; // bytes each relocation type writes (relocWidth)
    // Bytes from an address computation's PC-relative field to the end of
    // its instruction (x86-64: 4, the displacement ends `lea`), the bias
    // between a relocation's addend and the k of `sym + k` it computes.
    unsigned fieldToInstructionEnd = 0;

    // The k of the `sym + k` that the address computation holding `r`
    // yields (meaningful where addressToGotLoad accepts the instruction).
    int64_t computedOffset(const Reloc &r) const
    {
        return static_cast<int64_t>(static_cast<uint64_t>(r.addend) + fieldToInstructionEnd);
    }

    llvm::ArrayRef<RelExpr> relExprs;   // each relocation type's kind (relExpr)
    // Each TLS relocation type's use (tlsReloc), indexed by type - tlsFirst.
    uint32_t tlsFirst = 0;
    llvm::ArrayRef<TlsReloc> tlsRelocs;
    llvm::ArrayRef<DataField> dataFields; // relocation types whose field is plain data

    virtual llvm::StringRef relocName(uint32_t type) const = 0;
    // The kind of relocation `type`: the arch's table (built at compile time
    // from its classification), Unknown past its end.  A table, not a
    // virtual: the loader asks once per relocation.
    RelExpr relExpr(uint32_t type) const
    {
        return type < relExprs.size() ? relExprs[type] : RelExpr::Unknown;
    }
    // How TLS relocation `type` is computed (Unsupported for any other type).
    TlsReloc tlsReloc(uint32_t type) const
    {
        return type >= tlsFirst && type - tlsFirst < tlsRelocs.size() ? tlsRelocs[type - tlsFirst]
                                                                      : TlsReloc{};
    }
    // Bytes relocation `type` writes (for bounds checks when reading): the
    // arch's table, 4 past its end.  A table, not a virtual: readObject asks
    // once per relocation.
    unsigned relocWidth(uint32_t type) const
    {
        return type < relocWidths.size() ? relocWidths[type] : 4;
    }

    // Classifies the instruction that relocation `rel` (in executable section
    // `sec`) patches.  `relocs` are all relocations of that section;
    // `names`, when given, names their symbols, so that a call to memset & co.
    // with the address as a pointer argument counts as an access.
    using SymbolNames = llvm::function_ref<llvm::StringRef(uint32_t symbol)>;
    virtual Access classifyAccess(const Section &sec, const Reloc &rel, const std::vector<Reloc> &relocs,
                                  SymbolNames names = nullptr) const = 0;

    // The instruction text of `a` (from classifyAccess for relocation `r`)
    // with the operand `r` fills written the way an assembler writes it,
    // as `symbol` plus the offset it computes: `addq arr@GOTPCREL(%rip),
    // %rcx`, `movl hits+8(%rip), %eax`, not `(%rip)`.  Default: unchanged.
    virtual std::string symbolizedText(const Access &a, const Reloc &r, llvm::StringRef symbol) const
    {
        (void)r, (void)symbol;
        return a.text;
    }

    // Rewrites one per-CPU address computation so that it loads the address
    // from a slot instead (patch --indirect, the loader's far path).  `slotFor(symbol, addend)`
    // returns the index of the slot section's symbol and the slot's offset;
    // the arch edits `sec.data` and `rel` (and may look at the section's other
    // relocations).  Fails with a direct-access diagnostic when the
    // instruction is not a rewritable address computation.
    struct SlotRef {
        uint32_t symbol;  // symbol to relocate against (the slot section's)
        uint64_t offset;  // slot offset within that section
    };
    virtual llvm::Error rewriteIndirect(
        const ObjectFile &obj, Section &sec, Reloc &rel, const std::vector<Reloc> &relocs,
        const std::function<SlotRef(uint32_t symbol, int64_t addend)> &slotFor) const = 0;

    // ---- Loading (the module loader's relocation engine) ----
    // Values a relocation is computed from (psABI letters).
    struct RelocValues {
        uint64_t S = 0;   // symbol address
        int64_t A = 0;    // addend
        uint64_t P = 0;   // place (address of the field being relocated)
        uint64_t G = 0;   // address of the symbol's GOT entry (if it has one)
        uint64_t GOT = 0; // GOT base
        uint64_t L = 0;   // PLT stub address, or S when the target is in reach
        uint64_t Z = 0;   // symbol size
    };
    // The value relocation kind `e` computes (the table above), in generic
    // code: what every arch used to recompute per case.
    static uint64_t relocValue(RelExpr e, const RelocValues &v)
    {
        const uint64_t A = static_cast<uint64_t>(v.A);
        constexpr uint64_t pageMask = ~uint64_t{0xfff}; // Page(x) = x & ~0xfff
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
        case RelExpr::PageRelative: return ((v.S + A) & pageMask) - (v.P & pageMask);
        case RelExpr::PageOffset: return v.S + A;
        case RelExpr::GotPageRelative: return ((v.G + A) & pageMask) - (v.P & pageMask);
        case RelExpr::GotPageOffset: return v.G + A;
        case RelExpr::GotPageBaseOffset: return v.G + A - (v.GOT & pageMask);
        case RelExpr::PageBaseOffset: return v.S + A - (v.GOT & pageMask);
        case RelExpr::None:
        case RelExpr::TLS:
        case RelExpr::Unknown: break;
        }
        return 0;
    }
    // Writes relocation `type` at `loc`: its value computed once from `v`
    // (relocValue of relExpr(type), or of `e` when the caller has it), then
    // encoded by the arch (relocate).  Errors are DiagnosticErrors located by
    // `where()` (file, section, offset, symbol), which is only called on
    // failure.
    llvm::Error applyRelocation(uint32_t type, uint8_t *loc, const RelocValues &v,
                                llvm::function_ref<Diagnostic()> where) const
    {
        return applyRelocation(type, relExpr(type), loc, v, where);
    }
    llvm::Error applyRelocation(uint32_t type, RelExpr e, uint8_t *loc, const RelocValues &v,
                                llvm::function_ref<Diagnostic()> where) const
    {
        if (e == RelExpr::None)
            return llvm::Error::success();
        if (e == RelExpr::TLS || e == RelExpr::Unknown)
            return unsupportedRelocation(type, where);
        const uint64_t value = relocValue(e, v);
        if (type < dataFields.size() && dataFields[type].bytes)
            return writeDataField(type, dataFields[type], loc, value, where);
        return relocate(type, loc, value, where);
    }
    // Stores `value` into a data field after its range check (checkInt &
    // co.'s ranges; the failure path is theirs).
    llvm::Error writeDataField(uint32_t type, DataField f, uint8_t *loc, uint64_t value,
                               llvm::function_ref<Diagnostic()> where) const
    {
        const auto x = static_cast<int64_t>(value);
        if (f.bytes < 8 && f.check != FieldCheck::None) {
            const unsigned bits = 8u * f.bytes;
            const int64_t smin = -(int64_t{1} << (bits - 1)), smax = (int64_t{1} << (bits - 1)) - 1;
            const int64_t umax = static_cast<int64_t>((uint64_t{1} << bits) - 1);
            const bool fits = f.check == FieldCheck::Int    ? x >= smin && x <= smax
                              : f.check == FieldCheck::UInt ? x >= 0 && x <= umax
                                                            : x >= smin && x <= umax;
            if (!fits)
                return f.check == FieldCheck::Int    ? checkInt(type, x, bits, where)
                       : f.check == FieldCheck::UInt ? checkUInt(type, x, bits, where)
                                                     : checkIntUInt(type, x, bits, where);
        }
        switch (f.bytes) { // one store each (a byte loop was the engine's hot spot)
        case 8: llvm::support::endian::write64le(loc, value); break;
        case 4: llvm::support::endian::write32le(loc, static_cast<uint32_t>(value)); break;
        case 2: llvm::support::endian::write16le(loc, static_cast<uint16_t>(value)); break;
        default:
            for (unsigned i = 0; i < f.bytes; ++i) // little-endian
                loc[i] = static_cast<uint8_t>(value >> (8 * i));
        }
        return llvm::Error::success();
    }
    // Encodes `value` (already computed for relocation `type`) into the
    // field at `loc`, after the range check of the field (checkInt & co.).
    // Only called for types whose RelExpr is neither None, TLS nor Unknown
    // and that are not data fields.
    virtual llvm::Error relocate(uint32_t type, uint8_t *loc, uint64_t value,
                                 llvm::function_ref<Diagnostic()> where) const = 0;
    // Turns the address computation whose 32-bit PC-relative field is at
    // `field` (a section offset `offset` of `sec`, whose bytes in memory
    // start at `secBytes`) into a load of the address from a GOT entry: the
    // reverse of the linker's GOT relaxation, for targets out of reach.
    // RETURNS false when the instruction is not such a computation.
    virtual bool addressToGotLoad(uint8_t *secBytes, const Section &sec, uint64_t offset) const
    {
        (void)secBytes, (void)sec, (void)offset;
        return false;
    }
    // The range checks every arch's applyRelocation shares (lld's checkInt,
    // checkUInt and reportRangeError): success when `value` fits `bits`
    // signed (checkInt), unsigned (checkUInt) or either (checkIntUInt, for
    // fields the psABI lets hold both); else a RelocationRangeError located
    // by `where()`.
    llvm::Error checkInt(uint32_t type, int64_t value, unsigned bits,
                         llvm::function_ref<Diagnostic()> where) const;
    llvm::Error checkUInt(uint32_t type, int64_t value, unsigned bits,
                          llvm::function_ref<Diagnostic()> where) const;
    llvm::Error checkIntUInt(uint32_t type, int64_t value, unsigned bits,
                             llvm::function_ref<Diagnostic()> where) const;
    llvm::Error rangeError(uint32_t type, int64_t value, int64_t lo, int64_t hi,
                           llvm::function_ref<Diagnostic()> where) const;
    // The error for a relocation type the engine does not apply (TLS named
    // as such), for applyRelocation implementations.
    llvm::Error unsupportedRelocation(uint32_t type, llvm::function_ref<Diagnostic()> where) const;
    // Whether a module's TLS relocation of `type` against a symbol it defines
    // (`own`) or one it leaves undefined can be loaded: a module's own
    // thread-local data has no fixed offset from the thread pointer, so
    // initial and local exec reach only the process's static TLS.  The error
    // names the symbol and the remedy (check reports the same).
    llvm::Error tlsModelAllowed(uint32_t type, bool own, llvm::function_ref<Diagnostic()> where) const;
    // The PLT stub (pltStubSize bytes) jumping through `gotEntry`.
    virtual void writePltStub(uint8_t *stub, uint64_t stubAddr, uint64_t gotEntry) const;
    // Far accesses: the instruction holding relocation `rel`'s 32-bit
    // PC-relative field reads or writes memory at `symbolPlusAddend` plus the
    // distance from the field to the instruction's end, which is out of its
    // reach. The arch moves the instruction into a stub (at `stubAddr`, bytes
    // at `stub`, farStubSize of them, within reach of the section loaded at
    // `secAddr` with bytes `secBytes`) that performs the same access through
    // a full 64-bit address and jumps back; the instruction's place becomes a
    // jump to the stub. Fails with the reason when the instruction cannot be
    // moved (control flow, stack pointer, other relocations in it).  Only
    // for archs with farStubSize != 0.
    virtual llvm::Error writeFarStub(uint8_t *secBytes, const Section &sec, uint64_t secAddr,
                                     const Reloc &rel, const std::vector<Reloc> &relocs,
                                     uint64_t symbolPlusAddend, uint8_t *stub, uint64_t stubAddr) const;
};

// The C library's functions that read or write through their first
// pointer arguments: bit 0 set when through the first, bit 1 through the
// second (memcpy: both; memset: the first); 0 for any other name.
unsigned dereferencedArguments(llvm::StringRef function);
// The relocation of `relocs` (sorted by offset, as assemblers write them)
// inside [begin, end), or nullptr.
const Reloc *relocationIn(const std::vector<Reloc> &relocs, uint64_t begin, uint64_t end);

// The Target for `machine`, built on first use and kept for the process
// (thread-safe), or nullptr when the machine is not supported.
const Target *targetFor(uint16_t machine);
// The e_machine values targetFor() supports.
llvm::ArrayRef<uint16_t> supportedMachines();

// The architectures' factories (arch/<arch>/Target.cpp), for targetFor.
std::unique_ptr<Target> createX86_64Target();
std::unique_ptr<Target> createAArch64Target();

} // namespace percpu::elfpatch

#endif
