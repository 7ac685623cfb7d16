//===- Graph.h - the link graph the loader's passes work on ----------------===//
//
// JITLink's shape, over one relocatable object:
//
//   Block  a section: the address it runs at and where its bytes are written
//          (the mapping, the per-CPU image, the TLS template, or a caller's
//          buffer), by section index
//   Edge   a relocation of a loaded section: the field at `offset` of a
//          block, encoded as ELF `type`, computing `kind` (the Target's
//          RelExpr) against `target` + `addend`
//   Entry  a table's entry (a GOT word, a PLT stub, a TLS pair or descriptor):
//          something an edge can point at, like a symbol
//
// An edge's target is a TargetId: the object's symbol i for i below the
// symbol count, table entry i - count above.  The tables are managers
// (passes/Tables.cpp): when planned, each adds the entries the edges need
// and rewrites those edges to use them (a GOT-relative load becomes
// PC-relative to its GOT entry, a TLS reference PC-relative to its pair or
// descriptor), so the relocation engine computes only the kinds that
// address something directly (S, P, A, the GOT base, Z).  Decisions that
// need addresses are later edge rewrites: a call out of the branch's reach
// goes to its stub (rewriteCalls), external data out of 32-bit reach to a
// GOT word or a far stub (reachFarData).
//===----------------------------------------------------------------------===//
#ifndef PERCPU_LOADER_GRAPH_H
#define PERCPU_LOADER_GRAPH_H

#include "percpu/elfpatch/Target.h"

#include <cstdint>

namespace percpu::loader {

using elfpatch::RelExpr;
using elfpatch::TlsUse;

struct Block {
    uint64_t addr = 0;       // 0: not loaded
    uint8_t *data = nullptr; // where relocations write its bytes
};

using TargetId = uint32_t;

struct Edge {
    uint32_t block;  // the section the field is in
    uint32_t rela;   // the relocation section it came from
    uint64_t offset; // of the field in the block
    int64_t addend;
    uint32_t type;   // the ELF relocation type: how the field is encoded
    RelExpr kind;    // what it computes (None: nothing is written)
    uint32_t symbol; // the symbol the object names (diagnostics, Z)
    TargetId target; // what it is computed against
};

enum class EntryKind : uint8_t {
    GotWord,       // a word holding symbol + k
    JumpSlot,      // an indirect function's: its resolver's answer
    PltStub,       // a jump through the symbol's jump slot or GOT word
    FarStub,       // room for one instruction moved out of line
    TlsGdPair,     // {module, offset} of a thread-local symbol
    TlsLdPair,     // {module, 0}: the module's own block
    TlsDescriptor, // {function, argument, module, offset}
    TlsIe,         // a thread-pointer offset (initial exec)
};

struct Entry {
    EntryKind kind;
    uint32_t symbol = 0; // what it is for (0: none)
    int64_t k = 0;       // GotWord: the addend it holds
    uint64_t addr = 0;   // set when its table is placed
};

// The GOT-reading kind `e` as the kind that computes the same value against
// the entry itself (G + A - P is S + A - P with S the entry), or `e` when it
// reads no entry.
inline RelExpr throughEntry(RelExpr e)
{
    switch (e) {
    case RelExpr::GotPCRelative: return RelExpr::PCRelative;
    case RelExpr::GotOffset: return RelExpr::GotRelative;
    case RelExpr::GotPageRelative: return RelExpr::PageRelative;
    case RelExpr::GotPageOffset: return RelExpr::PageOffset;
    case RelExpr::GotPageBaseOffset: return RelExpr::PageBaseOffset;
    default: return e;
    }
}

} // namespace percpu::loader

#endif
