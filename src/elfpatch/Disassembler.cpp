//===- Disassembler.cpp - LLVM MC set-up --------------------------------------===//
#include "percpu/elfpatch/Disassembler.h"

#include "llvm/MC/MCAsmInfo.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCDisassembler/MCDisassembler.h"
#include "llvm/MC/MCInstPrinter.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/MCTargetOptions.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <mutex>

using namespace llvm;

namespace percpu::elfpatch {

struct Disassembler::Impl {
    std::unique_ptr<MCRegisterInfo> mri;
    std::unique_ptr<MCAsmInfo> mai;
    std::unique_ptr<MCSubtargetInfo> sti;
    std::unique_ptr<MCInstrInfo> mii;
    std::unique_ptr<MCContext> ctx;
    std::unique_ptr<MCDisassembler> dis;
    std::unique_ptr<MCInstPrinter> printer;
    std::map<std::string, unsigned> registers; // by LLVM's name ("RDI")
};

Disassembler::Disassembler() : impl_(std::make_unique<Impl>()) {}
Disassembler::~Disassembler() = default;

std::unique_ptr<Disassembler> Disassembler::create(const std::string &tripleName, void (*initialize)())
{
    {
        static std::mutex registry;
        std::lock_guard<std::mutex> g(registry);
        initialize();
    }
    std::string err;
    Triple triple(tripleName);
    const llvm::Target *t = TargetRegistry::lookupTarget(tripleName, err);
    if (!t)
        return nullptr;
    std::unique_ptr<Disassembler> d(new Disassembler());
    Impl &i = *d->impl_;
    i.mri.reset(t->createMCRegInfo(tripleName));
    if (i.mri)
        for (unsigned r = 1; r < i.mri->getNumRegs(); ++r)
            i.registers.emplace(i.mri->getName(r), r);
    MCTargetOptions opts;
    i.mai.reset(t->createMCAsmInfo(*i.mri, tripleName, opts));
    i.sti.reset(t->createMCSubtargetInfo(tripleName, "", ""));
    i.mii.reset(t->createMCInstrInfo());
    if (!i.mri || !i.mai || !i.sti || !i.mii)
        return nullptr;
    i.ctx = std::make_unique<MCContext>(triple, i.mai.get(), i.mri.get(), i.sti.get());
    i.dis.reset(t->createMCDisassembler(*i.sti, *i.ctx));
    i.printer.reset(t->createMCInstPrinter(triple, 0, *i.mai, *i.mii, *i.mri));
    if (!i.dis || !i.printer)
        return nullptr;
    return d;
}

std::optional<Disassembler::Decoded> Disassembler::decode(ArrayRef<uint8_t> bytes,
                                                         uint64_t address) const
{
    Decoded d;
    uint64_t size = 0;
    if (impl_->dis->getInstruction(d.inst, size, bytes, address, nulls()) !=
        MCDisassembler::Success)
        return std::nullopt;
    d.size = size;
    return d;
}

std::string Disassembler::print(const MCInst &inst) const
{
    std::string s;
    raw_string_ostream os(s);
    impl_->printer->printInst(&inst, 0, "", *impl_->sti, os);
    os.flush();
    size_t b = s.find_first_not_of(" \t");
    s = b == std::string::npos ? s : s.substr(b);
    for (char &c : s)
        if (c == '\t')
            c = ' ';
    return s;
}

std::string Disassembler::opcodeName(const MCInst &inst) const
{
    return impl_->mii->getName(inst.getOpcode()).str();
}

const MCInstrInfo &Disassembler::instrInfo() const { return *impl_->mii; }
const MCRegisterInfo &Disassembler::registerInfo() const { return *impl_->mri; }

unsigned Disassembler::registerNamed(StringRef name) const
{
    auto it = impl_->registers.find(name.str());
    return it == impl_->registers.end() ? 0 : it->second;
}

bool Disassembler::writesRegister(const MCInst &inst, unsigned reg) const
{
    const MCInstrDesc &desc = instrInfo().get(inst.getOpcode());
    for (unsigned i = 0; i < desc.getNumDefs() && i < inst.getNumOperands(); ++i)
        if (inst.getOperand(i).isReg() && inst.getOperand(i).getReg() &&
            registerInfo().isSuperOrSubRegisterEq(inst.getOperand(i).getReg(), reg))
            return true;
    return false;
}

bool Disassembler::endsStraightLine(const MCInst &inst) const
{
    const MCInstrDesc &desc = instrInfo().get(inst.getOpcode());
    return desc.isBranch() || desc.isCall() || desc.isReturn();
}

} // namespace percpu::elfpatch
