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
// and points the edge at what it did: the slot (the instruction loads sym +
// k from it), or nothing (the moved instruction's own field is written
// here).  What could not be moved keeps its reason for the error message
// (Module::farDataWhy).
// Only archs whose `pc32` is set have such fields (AArch64 reaches external
// data through the GOT).
//===----------------------------------------------------------------------===//
#include "../Internal.h"

namespace percpu::loader {

Error reachFarData(Module &m)
{
    const Target &tgt = *m.target;
    if (!tgt.pc32)
        return Error::success();
    const ObjectFile &o = m.obj;
    if (m.farRefs.empty())
        return Error::success();
    // The far stubs layout gave room to, in order.
    std::vector<const Entry *> stubs;
    for (const Entry &e : m.entries)
        if (e.kind == EntryKind::FarStub)
            stubs.push_back(&e);
    // PC-relative edges from code to external data (the GOT manager's
    // list), outside the per-CPU block.
    for (uint32_t i : m.farRefs) {
        Edge &e = m.edges[i];
        const Section &t = o.sections[e.block];
        uint8_t *dst = m.blocks[e.block].data;
        if (!dst || m.block.offsetOf(t.index))
            continue;
        const uint64_t place = m.blocks[e.block].addr;
        const uint64_t target = m.symAddr[e.symbol] + static_cast<uint64_t>(e.addend);
        const auto direct = static_cast<int64_t>(target - (place + e.offset));
        if (direct >= INT32_MIN && direct <= INT32_MAX)
            continue;
        // The slot holding sym + k, k the offset the computation yields.
        const Reloc r{e.offset, e.type, e.symbol, e.addend};
        if (auto slot = findEntry(m, EntryKind::GotWord, e.symbol, tgt.computedOffset(r));
            slot && tgt.addressToGotLoad(dst, t, e.offset)) {
            e.target = *slot; // the field now addresses the slot
            e.addend = -static_cast<int64_t>(tgt.fieldToInstructionEnd);
            continue;
        }
        if (e.type == tgt.pc32 && m.farStubsUsed < stubs.size()) {
            const Entry &stub = *stubs[m.farStubsUsed];
            Error moved = tgt.writeFarStub(dst, t, place, r, o.relocs.at(e.rela), target,
                                           reinterpret_cast<uint8_t *>(stub.addr), stub.addr);
            if (!moved) {
                ++m.farStubsUsed;
                e.kind = RelExpr::None; // the instruction lives in the far stub now
                continue;
            }
            m.farDataWhy[i] = toString(std::move(moved));
        }
    }
    return Error::success();
}

} // namespace percpu::loader
