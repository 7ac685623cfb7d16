//===- Disassembler.h - LLVM MC decoding, set up once per triple ---------===//
#ifndef PERCPU_ELFPATCH_DISASSEMBLER_H
#define PERCPU_ELFPATCH_DISASSEMBLER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/MC/MCInst.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace llvm {
class MCInstrInfo;
class MCRegisterInfo;
class MCSubtargetInfo;
} // namespace llvm

namespace percpu::elfpatch {

class Disassembler {
public:
    // A disassembler for `triple`, after `initialize` has registered its
    // LLVM target (the arch's LLVMInitialize*TargetInfo/TargetMC/
    // Disassembler; run under a lock, since LLVM's registry is not
    // synchronised).  Fails (returns nullptr) only when LLVM lacks the target.
    static std::unique_ptr<Disassembler> create(const std::string &triple, void (*initialize)());
    ~Disassembler();

    struct Decoded {
        llvm::MCInst inst;
        uint64_t size = 0;
    };
    std::optional<Decoded> decode(llvm::ArrayRef<uint8_t> bytes, uint64_t address) const;
    std::string print(const llvm::MCInst &inst) const;
    std::string opcodeName(const llvm::MCInst &inst) const;

    const llvm::MCInstrInfo &instrInfo() const;
    const llvm::MCRegisterInfo &registerInfo() const;

    // The register LLVM names `name` ("RDI"), or 0.
    unsigned registerNamed(llvm::StringRef name) const;
    // Whether `inst` writes `reg` or a register overlapping it (for following
    // a loaded address through straight-line code).
    bool writesRegister(const llvm::MCInst &inst, unsigned reg) const;
    // Whether `inst` may leave straight-line code (branch, call, return).
    bool endsStraightLine(const llvm::MCInst &inst) const;

private:
    Disassembler();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A Disassembler made on first use, once, thread-safely: setting one up
// costs (an MCContext, tables), and only analysis needs it (check, patch
// --indirect, the loader's far path), so a Target holds one of these.
class LazyDisassembler {
public:
    LazyDisassembler(const char *triple, void (*initialize)()) : triple_(triple), initialize_(initialize) {}
    // nullptr only when LLVM lacks the target.
    const Disassembler *get() const
    {
        std::call_once(once_, [this] { dis_ = Disassembler::create(triple_, initialize_); });
        return dis_.get();
    }

private:
    const char *triple_;
    void (*initialize_)();
    mutable std::once_flag once_;
    mutable std::unique_ptr<Disassembler> dis_;
};

} // namespace percpu::elfpatch

#endif
