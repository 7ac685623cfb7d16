//===- passes/Protect.cpp - protect: final permissions, indirect functions ------ ===//
#include "../Internal.h"

namespace percpu::loader {

// Protects the mapping. Code becomes executable first, so that indirect
// functions' resolvers can run and fill their GOT entries before the GOT
// becomes read-only (as IRELATIVE relocations are applied by ld.so). With
// PCPU_RTLD_NOINIT no module code runs: the entries stay 0.
Error protect(Module &m)
{
    // Code was written through the data side: make the instruction side see it.
    for (const Module::Region &r : m.regions)
        if (r.prot & PROT_EXEC)
            hostTarget().flushInstructions(reinterpret_cast<void *>(m.base + r.offset),
                                           reinterpret_cast<void *>(m.base + r.offset + r.size));
    auto apply = [&](bool exec) -> Error {
        for (const Module::Region &r : m.regions)
            if (((r.prot & PROT_EXEC) != 0) == exec &&
                mprotect(reinterpret_cast<void *>(m.base + r.offset), r.size, r.prot) != 0)
                return loadError(m.name, "", std::nullopt, "",
                                 std::string("mprotect failed: ") + strerror(errno));
        return Error::success();
    };
    if (Error e = apply(true))
        return e;
    if (!(m.flags & PCPU_RTLD_NOINIT))
        for (auto [sym, resolver] : m.ifuncs)
            support::endian::write64le(reinterpret_cast<void *>(entryOfSymbol(m, m.slotOf, sym)->addr),
                                       hostTarget().callResolver(resolver));
    return apply(false);
}

} // namespace percpu::loader
