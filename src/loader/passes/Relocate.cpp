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

// Applies every edge: the value of its kind against its target (a symbol,
// or the table entry a manager pointed it at), written into the block's
// bytes (Block::data) for the block's address.
Error relocate(Module &m)
{
    const ObjectFile &o = m.obj;
    Error errors = Error::success();
    unsigned count = 0;
    for (size_t i = 0; i < m.edges.size(); ++i) {
        const Edge &e = m.edges[i];
        const Block &b = m.blocks[e.block];
        if (!b.data || e.kind == RelExpr::None)
            continue;
        const Symbol &sym = o.symbols[e.symbol];
        Target::RelocValues v;
        v.S = m.addressOf(e.target);
        v.A = e.addend;
        v.P = b.addr + e.offset;
        v.GOT = m.gotBase;
        v.Z = sym.size;
        auto where = [&] {
            Diagnostic d;
            d.file = m.name;
            d.section = o.sections[e.block].name;
            d.offset = e.offset;
            d.symbol = sym.type == STT_SECTION ? o.sectionLabel(sym.shndx) : sym.name;
            return d;
        };
        if (Error err = m.target->applyRelocation(e.type, e.kind, b.data + e.offset, v, where)) {
            ++m.relocFailures;
            // Out of range: a record for the far-reach decision, and for
            // external data, what to do about it.
            err = handleErrors(std::move(err), [&](std::unique_ptr<RelocationRangeError> range) -> Error {
                m.overflows.push_back({e.block, e.offset, e.type, e.symbol, range->value});
                if (sym.shndx == SHN_UNDEF && e.target == e.symbol &&
                    m.target->relExpr(e.type) == RelExpr::PCRelative) {
                    auto why = m.farDataWhy.find(i);
                    explainFarData(range->diag, sym.name, v.S, why == m.farDataWhy.end() ? "" : why->second);
                } else if (e.kind == RelExpr::Absolute && !m.toldToRecompile &&
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
            errors = joinErrors(std::move(errors), std::move(err));
            if (++count > 20)
                return errors;
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
