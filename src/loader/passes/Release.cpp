//===- passes/Release.cpp - the last pass: drop what only linking needed ---===//
//
// What only linking needed goes once the module runs: the sections' bytes
// (the mapping and the units hold them now) and their instruction index, the
// relocations, the per-CPU image, the GOT/PLT/far-data bookkeeping.  A
// loaded module keeps its symbols and their addresses (pcpu_dlsym, the
// guard's describer), its sections' headers, its mapping and its block.
//===----------------------------------------------------------------------===//
#include "../Internal.h"

namespace percpu::loader {
namespace {
template <typename T> void release(T &container) { T().swap(container); }
} // namespace

Error dropLinkState(Module &m)
{
    for (Section &s : m.obj.sections) {
        release(s.data);
        release(s.instructionIndex);
    }
    release(m.obj.relocs);
    release(m.image);
    for (Block &b : m.blocks)
        b.data = nullptr; // the addresses stay: the debugger's and the describer's
    release(m.edges);
    release(m.entries);
    release(m.gotOf);
    release(m.stubOf);
    release(m.slotOf);
    release(m.entryOf);
    release(m.calls);
    release(m.symbolUse);
    release(m.farRefs);
    release(m.commonAddr);
    release(m.farDataWhy);
    release(m.overflows);
    release(m.regions);
    release(m.ifuncs);
    release(m.processTls);
    release(m.tlsOffset);
    m.original = {};
    return Error::success();
}

} // namespace percpu::loader
