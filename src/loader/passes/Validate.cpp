//===- passes/Validate.cpp - read: check's structural rules, then the loader's ----- ===//
#include "../Internal.h"

namespace percpu::loader {

bool isPerCpuSection(const Section &s) { return isPerCpuDataSection(s); }

bool loadable(const Section &s)
{
    return s.index && (s.flags & SHF_ALLOC) && s.type != SHT_GROUP && !isPerCpuSection(s) &&
           !(s.flags & SHF_TLS); // thread-local data is the TLS blocks' template
}

int permOf(const Section &s)
{
    if (s.flags & SHF_EXECINSTR)
        return PROT_READ | PROT_EXEC;
    if (s.flags & SHF_WRITE)
        return PROT_READ | PROT_WRITE;
    return PROT_READ;
}

Error validate(Module &m)
{
    const ObjectFile &o = m.obj;
    if (!o.isRelocatable())
        return loadError(m.name, "", std::nullopt, "",
                         "not a relocatable object (ET_REL); link modules with -r or "
                         "`percpu-elfpatch link`",
                         Rule::Malformed);
    if (!o.symtabIndex)
        return loadError(m.name, "", std::nullopt, "", "object has no symbol table", Rule::Malformed);
    // check's structural rules, from its own code: a per-CPU section that is
    // not PROGBITS/NOBITS data would otherwise load as ordinary data, and the
    // module's first per_cpu() access would fault.
    std::optional<Diagnostic> bad;
    for (const Section &s : o.sections)
        sectionFlagsRule(o, s, [&](Diagnostic d) {
            if (!bad)
                bad = std::move(d);
        });
    if (bad) {
        bad->file = m.name; // the name the module is loaded as
        return make_error<DiagnosticError>(std::move(*bad));
    }
    m.target = o.target;
    for (const Symbol &s : o.symbols)
        if (s.name == "__gnu_lto_slim")
            return loadError(m.name, "", std::nullopt, s.name,
                             "object holds only GCC's LTO bytecode (-flto without "
                             "-ffat-lto-objects), no machine code to load; compile the module "
                             "without -flto or add -ffat-lto-objects",
                             Rule::Malformed);
    for (const Section &s : o.sections)
        if (s.index && (s.flags & SHF_ALLOC) && (s.flags & SHF_WRITE) && (s.flags & SHF_EXECINSTR))
            return loadError(m.name, s.name, std::nullopt, "",
                             "section is both writable and executable; modules are never mapped "
                             "writable and executable at once");
    // Thread-local accesses that need a static reserve, before anything is
    // mapped (passes/ThreadLocal.cpp).
    return tlsModels(m);
}

// The object must be for the machine the loader runs on (testing's engine
// runs any machine's relocations, without this pass).
Error checkHostMachine(Module &m)
{
    const uint16_t host = hostTarget().machine;
    if (m.obj.machine != host)
        return loadError(m.name, "", std::nullopt, "",
                         "object is for " + machineName(m.obj.machine) + ", the host is " + machineName(host),
                         Rule::Malformed);
    return Error::success();
}

} // namespace percpu::loader
