//===- Debugger.cpp - GDB's JIT interface for modules ----------- ===//
#include "Internal.h"

namespace percpu::loader {

// Tells a debugger about the module: the object as read, with each section's
// sh_addr set to where it was loaded (what RuntimeDyld gives GDB too), so
// backtraces and breakpoints show the module's functions.
void registerWithDebugger(Module &m, StringRef original)
{
    if (original.size() < sizeof(ELF64LE::Ehdr))
        return;
    m.debugImage.assign(original.begin(), original.end());
    ELF64LE::Ehdr eh;
    std::memcpy(&eh, m.debugImage.data(), sizeof(eh));
    for (uint32_t i = 1; i < eh.e_shnum && i < m.secAddr.size(); ++i) {
        uint64_t at = eh.e_shoff + uint64_t{i} * sizeof(ELF64LE::Shdr) + offsetof(ELF64LE::Shdr, sh_addr);
        if (at + 8 > m.debugImage.size())
            return;
        support::endian::write64le(m.debugImage.data() + at, m.secAddr[i]);
    }
    jit_code_entry *e = &m.debugEntry;
    e->symfile_addr = m.debugImage.data();
    e->symfile_size = m.debugImage.size();
    e->prev_entry = nullptr;
    e->next_entry = __jit_debug_descriptor.first_entry;
    if (e->next_entry)
        e->next_entry->prev_entry = e;
    __jit_debug_descriptor.first_entry = e;
    __jit_debug_descriptor.relevant_entry = e;
    __jit_debug_descriptor.action_flag = 1;
    __jit_debug_register_code();
    m.debugRegistered = true;
}


// Takes the module off GDB's list.
void unregisterFromDebugger(Module &m)
{
    jit_code_entry *e = &m.debugEntry;
    if (e->prev_entry)
        e->prev_entry->next_entry = e->next_entry;
    else
        __jit_debug_descriptor.first_entry = e->next_entry;
    if (e->next_entry)
        e->next_entry->prev_entry = e->prev_entry;
    __jit_debug_descriptor.relevant_entry = e;
    __jit_debug_descriptor.action_flag = 2;
    __jit_debug_register_code();
    m.debugRegistered = false;
}

} // namespace percpu::loader
