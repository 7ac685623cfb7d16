//===- passes/Relocate.cpp - fix up: the relocation engine, overflow records ----- ===//
#include "../Internal.h"

namespace percpu::loader {

// A PC-relative reference to something defined outside the module that is
// out of reach: name where it lives and say what to do. The usual case is
// -fPIE code reading a shared library's variable directly, which only works
// in an executable (the linker copies the variable into it).
void explainFarData(Diagnostic &d, const std::string &name, uint64_t addr, const std::string &whyNotMoved)
{
    Dl_info info{};
    if (!addr || !dladdr(reinterpret_cast<void *>(addr), &info) || !info.dli_fname)
        return;
    std::string where = info.dli_fname[0] ? info.dli_fname : "the host executable";
    d.message += "; '" + name + "' is defined in " + where +
                 ", out of 32-bit reach of the module: code built with -fPIE reaches data "
                 "outside its object directly (an executable would get a copy relocation)" +
                 (whyNotMoved.empty() ? std::string() : " and " + whyNotMoved) + "; build the module with -fPIC";
}

// Applies every relocation of the loaded sections at m.secAddr, writing
// through m.secData.
Error relocate(Module &m)
{
    const ObjectFile &o = m.obj;
    Error errors = Error::success();
    unsigned count = 0;
    for (const auto &[rela, list] : o.relocs) {
        const Section &t = o.sections[o.relocTarget(rela)];
        if (!(t.flags & SHF_ALLOC))
            continue; // debug information is not loaded
        const bool perCpu = m.block.offsetOf(t.index).has_value();
        uint8_t *dst = m.secData[t.index];
        const uint64_t place = m.secAddr[t.index];
        if (!dst)
            continue;
        for (const Reloc &r : list) {
            const Symbol &sym = o.symbols[r.symbol];
            RelExpr expr = m.target->relExpr(r.type);
            Target::RelocValues v;
            v.S = m.symAddr[r.symbol];
            v.A = r.addend;
            v.P = place + r.offset;
            v.GOT = m.gotBase;
            v.Z = sym.size;
            v.G = m.gotEntry[r.symbol];
            v.L = v.S;
            if (expr == RelExpr::TLS) {
                // An entry of the module's TLS tables, or an offset in its
                // block (tlsModels refused the rest before mapping).
                const TlsReloc tr = m.target->tlsReloc(r.type);
                expr = tr.expr;
                if (tr.use == TlsUse::LdPair)
                    v.G = m.tlsLdPair;
                else if (auto it = m.tlsEntry.find({r.symbol, tr.use}); it != m.tlsEntry.end())
                    v.G = it->second;
                else if (tr.use == TlsUse::DtpOffset && sym.shndx == SHN_UNDEF)
                    expr = RelExpr::Unknown; // an offset in another object's block: refused
            }
            if (uint64_t stub = m.pltStub[r.symbol]) {
                int64_t direct = static_cast<int64_t>(v.S + v.A - v.P);
                int64_t reach = m.target->branchReach;
                if (direct < -reach || direct >= reach)
                    v.L = stub;
            }
            // The far-data pass's decision (passes/FarData.cpp), if any.
            std::string whyNotMoved;
            if (expr == RelExpr::PCRelative && !perCpu && sym.shndx == SHN_UNDEF && !m.farData.empty()) {
                if (auto it = m.farData.find({t.index, r.offset}); it != m.farData.end()) {
                    if (it->second.moved)
                        continue; // the instruction lives in a far stub now
                    if (it->second.slot) {
                        v.S = it->second.slot; // the field now addresses the slot
                        v.A = -static_cast<int64_t>(m.target->fieldToInstructionEnd);
                    }
                    whyNotMoved = it->second.whyNotMoved;
                }
            }
            auto where = [&] {
                Diagnostic d;
                d.file = m.name;
                d.section = t.name;
                d.offset = r.offset;
                d.symbol = sym.type == STT_SECTION ? o.sectionLabel(sym.shndx) : sym.name;
                return d;
            };
            if (Error e = m.target->applyRelocation(r.type, expr, dst + r.offset, v, where)) {
                ++m.relocFailures;
                // Out of range: a record for the far-reach decision, and for
                // external data, what to do about it.
                e = handleErrors(std::move(e), [&](std::unique_ptr<RelocationRangeError> range) -> Error {
                    m.overflows.push_back({t.index, r.offset, r.type, r.symbol, range->value});
                    if (sym.shndx == SHN_UNDEF && expr == RelExpr::PCRelative)
                        explainFarData(range->diag, sym.name, v.S, whyNotMoved);
                    else if (expr == RelExpr::Absolute && !m.toldToRecompile &&
                             (range->value > INT64_C(0xffffffff) || range->value < -INT64_C(0x80000000))) {
                        // Said once, at the first such field: the remedy is the module's.
                        m.toldToRecompile = true;
                        range->diag.message +=
                            "; an absolute address in a field narrower than a pointer: the module "
                            "was compiled without -fPIC (-fno-pic), and this host places it where "
                            "such addresses do not fit; recompile it with -fPIC";
                    }
                    return Error(std::move(range));
                });
                errors = joinErrors(std::move(errors), std::move(e));
                if (++count > 20)
                    return errors;
            }
        }
    }
    return errors;
}

// The far-reach decision, from the fix-up pass's records: every failed
// relocation overflowed against per-CPU data, which the far path reaches.
bool farPathFixes(const Module &m)
{
    if (m.overflows.empty() || m.overflows.size() != m.relocFailures)
        return false;
    for (const Module::Overflow &o : m.overflows)
        if (!isPerCpuSymbol(m.obj, m.obj.symbols[o.symbol]))
            return false;
    return true;
}

} // namespace percpu::loader
