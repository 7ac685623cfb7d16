//===- Patch.h - merge an object's per-CPU sections; make it indirect ----===//
//
// patchObject() rewrites a relocatable object so that its per-CPU data is one
// ".data..percpu" section in canonical order (Layout.h): per-CPU symbols move
// into it, relocations against the old sections (from any section, including
// the per-CPU sections' own and debug sections) are redirected with adjusted
// addends, the per-CPU sections' relocations are merged, and a layout record
// (".note.percpu", see encodeLayoutNote) is added.  Objects without per-CPU
// data, and objects already patched, come back byte for byte.
//
// With `indirect`, every per-CPU address computation in code is rewritten to
// load the address from an 8-byte slot (".data.rel.percpu_slots", one
// absolute 64-bit relocation each), so the block may be placed anywhere in
// the address space; an instruction that cannot be rewritten fails the whole
// patch with `direct-access` diagnostics and nothing is produced.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_PATCH_H
#define PERCPU_ELFPATCH_PATCH_H

#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Layout.h"
#include "percpu/elfpatch/Object.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace percpu::elfpatch {

struct PatchOptions {
    bool indirect = false;
    // A kernel module: the kernel allocates the block at the merged
    // section's sh_addralign, so patch keeps the inputs' largest alignment
    // when the block has one group (no group step needs a cache-line base)
    // instead of raising it to a cache line.
    bool kernel = false;
};

struct PatchResult {
    std::vector<uint8_t> bytes; // the output file
    bool changed = false;       // false: bytes are the input
    BlockLayout layout;         // the block as planned
    unsigned rewritten = 0;     // instructions rewritten (indirect)
    unsigned slots = 0;
};

// `original` is the file `obj` was read from.  Errors are DiagnosticErrors
// (possibly several, joined).
llvm::Expected<PatchResult> patchObject(const ObjectFile &obj, llvm::ArrayRef<uint8_t> original,
                                        const PatchOptions &options);

// The in-memory steps, for the loader: merge the per-CPU sections of `obj`
// (returns whether anything changed), and make per-CPU references indirect.
llvm::Expected<bool> mergePerCpuSections(ObjectFile &obj, const BlockLayout &layout,
                                         const PatchOptions &opts = {});
llvm::Expected<unsigned> makeIndirect(ObjectFile &obj, unsigned *slots = nullptr);

// The slots are written once more after the dynamic loader relocated them
// (a shared object's block is allocated by its start-up code), so they are
// not RELRO: ".data.rel.*" goes to .data with GNU ld and ld.lld alike, and
// dlopen() saves the two mprotect() calls (and the VMA split) that writing
// RELRO pages takes.  Objects patched before keep their slots in
// kSlotSectionRelro, which is reused as it is.
constexpr llvm::StringLiteral kSlotSection = ".data.rel.percpu_slots";
constexpr llvm::StringLiteral kSlotSectionRelro = ".data.rel.ro.percpu_slots";
// Its slots: one 8-byte absolute address each, all on one 4 KiB page, so
// that AArch64 code reaches every slot from one ADRP page (ADRP + LDR).
constexpr uint64_t kSlotSize = 8;
constexpr uint64_t kSlotPage = 4096;
constexpr uint64_t kMaxSlots = kSlotPage / kSlotSize;

} // namespace percpu::elfpatch

#endif
