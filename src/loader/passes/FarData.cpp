//===- passes/FarData.cpp - fix up: external data out of 32-bit reach ------===//
//
// -fPIE code reaches what it does not define with 32-bit PC-relative fields
// (`lea sym(%rip)`, `mov sym(%rip), %rax`), which a linker can only satisfy
// in an executable.  For each such field whose target is out of reach, this
// pass, before the relocations are applied, either
//   - turns the address computation into a load of sym + k from a GOT slot
//     (Target::addressToGotLoad: x86-64's `lea` becomes `mov`), or
//   - moves a load or store out of line into a far stub that uses a full
//     64-bit address (Target::writeFarStub),
// and records what it did in Module::farData, which the relocation pass
// follows.  What could not be moved keeps its reason for the error message.
// Only archs whose `pc32` is set have such fields (AArch64 reaches external
// data through the GOT).
//===----------------------------------------------------------------------===//
#include "../Internal.h"

namespace percpu::loader {

Error reachFarData(Module &m)
{
    const Target &tgt = *m.target;
    if (!tgt.pc32 || !m.farDataRefs)
        return Error::success();
    const ObjectFile &o = m.obj;
    for (const auto &[rela, list] : o.relocs) {
        const Section &t = o.sections[o.relocTarget(rela)];
        uint8_t *dst = m.secData[t.index];
        if (!(t.flags & SHF_ALLOC) || !dst || m.block.offsetOf(t.index))
            continue;
        const uint64_t place = m.secAddr[t.index];
        for (const Reloc &r : list) {
            if (o.symbols[r.symbol].shndx != SHN_UNDEF || tgt.relExpr(r.type) != RelExpr::PCRelative)
                continue;
            const uint64_t target = m.symAddr[r.symbol] + static_cast<uint64_t>(r.addend);
            const auto direct = static_cast<int64_t>(target - (place + r.offset));
            if (direct >= INT32_MIN && direct <= INT32_MAX)
                continue;
            Module::FarDataFix fix;
            // The slot holding sym + k, k the offset the computation yields.
            const int64_t k = tgt.computedOffset(r);
            if (!k)
                fix.slot = m.gotEntry[r.symbol];
            else if (auto it = m.gotOffsetEntry.find({r.symbol, k}); it != m.gotOffsetEntry.end())
                fix.slot = it->second;
            if (fix.slot && tgt.addressToGotLoad(dst, t, r.offset)) {
                m.farData[{t.index, r.offset}] = std::move(fix);
                continue;
            }
            fix.slot = 0;
            if (r.type == tgt.pc32 && m.farStubsLeft) {
                Error moved = tgt.writeFarStub(dst, t, place, r, list, target,
                                               reinterpret_cast<uint8_t *>(m.farStubs), m.farStubs);
                if (!moved) {
                    m.farStubs += tgt.farStubSize;
                    --m.farStubsLeft;
                    fix.moved = true;
                } else {
                    fix.whyNotMoved = toString(std::move(moved));
                }
            }
            m.farData[{t.index, r.offset}] = std::move(fix);
        }
    }
    return Error::success();
}

} // namespace percpu::loader
