//===- Module.cpp - the Module, the Loader, errors ------------ ===//
#include "Internal.h"

namespace percpu::loader {

thread_local std::string lastError;
thread_local bool hasError = false;

void setError(std::string msg)
{
    lastError = std::move(msg);
    hasError = true;
}

Error loadError(const std::string &file, std::string section, std::optional<uint64_t> off,
                std::string symbol, std::string message, Rule rule)
{
    return makeError(rule, file, std::move(section), off, std::move(symbol),
                     std::move(message));
}

std::string describe(Error e, const std::string &file)
{
    std::string out;
    for (const Diagnostic &d : takeDiagnostics(std::move(e), Rule::Load, file)) {
        if (!out.empty())
            out += "\n";
        out += d.str();
    }
    return out;
}


Loader &loader()
{
    // Keeps what the host must link for modules (arch/x86_64/libc_data.c) linked, also
    // under --gc-sections.
    __asm__ volatile("" : : "r"(hostTarget().hostCopies));
    static Loader *l = [] {
        pcpu_set_module_describer(describeModuleAddress);
        return new Loader(); // never destroyed: modules may outlive statics
    }();
    return *l;
}

// The guard's describer (pcpu_set_module_describer): which module's per-CPU
// variable or code `addr` is.  It runs in a dying process's fault handler,
// so it only tries the lock, and formats into the caller's buffer.
int describeModuleAddress(uintptr_t addr, char *buf, size_t len)
{
    Loader &L = loader();
    std::unique_lock<std::recursive_mutex> guard(L.lock, std::try_to_lock);
    if (!guard.owns_lock())
        return 0;
    for (const Module *m : L.modules) {
        const bool inBlock = m->blockCanon && addr - m->blockCanon < m->block.size;
        const bool inCode = m->base && addr - m->base < m->mapSize;
        if (!inBlock && !inCode)
            continue;
        const Symbol *best = nullptr;
        uint64_t bestAddr = 0;
        for (uint32_t i = 1; i < m->obj.symbols.size() && i < m->symAddr.size(); ++i) {
            const Symbol &s = m->obj.symbols[i];
            // Not AArch64's mapping symbols ($d, $x): they name no variable.
            if (!s.isDefinedInSection() || s.type == STT_SECTION || isNonVariableSymbolName(s.name) ||
                (inBlock != isPerCpuSection(m->obj.sections[s.shndx])))
                continue;
            uint64_t a = m->symAddr[i];
            if (addr < a || addr - a >= std::max<uint64_t>(s.size, 1))
                continue;
            if (!best || s.size < best->size) {
                best = &s;
                bestAddr = a;
            }
        }
        if (inBlock && best)
            snprintf(buf, len, "the per-CPU variable `%s` (+%lu of %lu bytes) of module %s",
                     best->name.c_str(), static_cast<unsigned long>(addr - bestAddr),
                     static_cast<unsigned long>(best->size), m->name.c_str());
        else if (inBlock)
            snprintf(buf, len, "the per-CPU block of module %s (+0x%lx of %lu bytes)",
                     m->name.c_str(), static_cast<unsigned long>(addr - m->blockCanon),
                     static_cast<unsigned long>(m->block.size));
        else if (best)
            snprintf(buf, len, "module %s, %s+0x%lx", m->name.c_str(), best->name.c_str(),
                     static_cast<unsigned long>(addr - bestAddr));
        else
            snprintf(buf, len, "module %s+0x%lx", m->name.c_str(),
                     static_cast<unsigned long>(addr - m->base));
        return 1;
    }
    return 0;
}

void Module::releaseMemory()
{
    // A failed load is undone exactly (pages given back, mappings as they
    // were); an unloaded module's memory stays ready for the next load.
    if (blockCanon)
        pcpu_module_block_free(reinterpret_cast<void *>(blockCanon), loaded ? 0 : 1);
    if (base) {
        Loader &L = loader();
        if (inArea)
            L.area.release(base, mapSize, loaded, reused);
        else
            munmap(reinterpret_cast<void *>(base), mapSize);
    }
    if (tlsSlot)
        tls::release(tlsSlot); // every thread's block
    blockCanon = 0;
    base = 0;
    tlsSlot = 0;
}

void Module::discardPlacement()
{
    releaseMemory();
    static_cast<Placement &>(*this) = Placement{};
    deps.clear(); // what resolve found; it runs again
}

Module::~Module()
{
    Loader &L = loader();
    for (const std::string &n : exportNames)
        L.exports.erase(n);
    for (Module *d : deps)
        d->dependents.erase(this);
    if (debugRegistered)
        unregisterFromDebugger(*this);
    if (ehRegistered)
        __deregister_frame(reinterpret_cast<void *>(ehFrame));
    releaseMemory();
}

} // namespace percpu::loader
