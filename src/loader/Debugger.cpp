//===- Debugger.cpp - GDB's JIT interface for modules ----------- ===//
#include "Internal.h"

namespace percpu::loader {

// The object as the debugger reads it: every section header, with sh_addr
// set to where the section was loaded (what RuntimeDyld gives GDB too), and
// the bytes of what GDB reads from the file rather than from the process:
// symbols, strings, debug sections, .eh_frame (its CFI) and the relocations
// that apply to them.  Code and data are SHT_NOBITS here and their
// relocation tables empty, since GDB reads those bytes from memory: the
// image costs a module its debug information, not its code and relocations
// once more (a 2.1 MB object without -g: 72 KB).  Empty when the object's
// tables do not fit it (readObject has checked them; this is a second
// guard, not a diagnosis).
std::vector<char> debugImage(const Module &m, StringRef original)
{
    ELF64LE::Ehdr eh;
    if (original.size() < sizeof(eh))
        return {};
    std::memcpy(&eh, original.data(), sizeof(eh));
    const uint64_t shsize = sizeof(ELF64LE::Shdr);
    if (eh.e_shoff == 0 || eh.e_shoff > original.size() || original.size() - eh.e_shoff < shsize)
        return {};
    ELF64LE::Shdr first;
    std::memcpy(&first, original.data() + eh.e_shoff, shsize);
    const uint64_t count = eh.e_shnum ? eh.e_shnum : uint64_t{first.sh_size}; // extended numbering
    if (count > (original.size() - eh.e_shoff) / shsize)
        return {};
    std::vector<ELF64LE::Shdr> sh(count);
    std::memcpy(sh.data(), original.data() + eh.e_shoff, count * shsize);
    // Whether GDB reads section i from the process (code and data, not the
    // unwind tables, which it reads from the file).
    auto loaded = [&](uint64_t i) {
        return i < count && (sh[i].sh_flags & SHF_ALLOC) && sh[i].sh_type != SHT_GROUP &&
               !(i < m.obj.sections.size() && m.obj.sections[i].name == ".eh_frame");
    };
    auto keepBytes = [&](uint64_t i) {
        const ELF64LE::Shdr &h = sh[i];
        return h.sh_type != SHT_NOBITS && h.sh_type != SHT_NULL && !loaded(i) &&
               !(h.sh_type == SHT_RELA && loaded(h.sh_info));
    };
    uint64_t bound = sizeof(eh) + count * (shsize + 64); // headers, and padding at most
    for (uint64_t i = 1; i < count; ++i)
        if (keepBytes(i))
            bound += std::min<uint64_t>(sh[i].sh_size, original.size());
    std::vector<char> out;
    out.reserve(bound); // one allocation
    out.resize(sizeof(eh));
    for (uint64_t i = 1; i < count; ++i) {
        ELF64LE::Shdr &h = sh[i];
        const bool keep = keepBytes(i); // before the header changes below
        if (i < m.blocks.size() && (h.sh_flags & SHF_ALLOC))
            h.sh_addr = m.blocks[i].addr;
        if (!keep) {
            if (loaded(i))
                h.sh_type = SHT_NOBITS; // size and address stay: GDB reads memory
            else if (h.sh_type == SHT_RELA)
                h.sh_size = 0; // relocations of code and data: none
            h.sh_offset = out.size();
            continue;
        }
        if (h.sh_offset > original.size() || original.size() - h.sh_offset < h.sh_size)
            return {};
        // In the file, alignment helps readers, nothing requires it: at most
        // 64 (a crafted sh_addralign of 2^63 would otherwise size the image).
        out.resize(alignTo(out.size(), std::clamp<uint64_t>(h.sh_addralign, 1, 64)));
        const uint64_t at = out.size();
        out.insert(out.end(), original.data() + h.sh_offset, original.data() + h.sh_offset + h.sh_size);
        h.sh_offset = at;
    }
    out.resize(alignTo(out.size(), 8));
    eh.e_shoff = out.size();
    std::memcpy(out.data(), &eh, sizeof(eh));
    const size_t headers = out.size();
    out.resize(headers + count * shsize);
    std::memcpy(out.data() + headers, sh.data(), count * shsize);
    return out;
}

// Tells a debugger about the module, so that backtraces and breakpoints show
// its functions and lines.
void registerWithDebugger(Module &m, StringRef original)
{
    m.debugImage = debugImage(m, original);
    if (m.debugImage.empty())
        return;
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
