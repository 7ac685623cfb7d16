//===- ProgramRange.cpp - is an address the program's own? ---------------===//
//
// Apart from Internal.h: <link.h>'s ELF declarations clash with LLVM's
// llvm::ELF names, which the rest of the loader uses.
//===----------------------------------------------------------------------===//
#include <link.h>

#include <cstdint>

namespace percpu::loader {

bool addressInProgram(const void *p)
{
    struct Query {
        uintptr_t addr;
        bool inside;
    } q{reinterpret_cast<uintptr_t>(p), false};
    dl_iterate_phdr(
        [](dl_phdr_info *info, size_t, void *arg) {
            auto *w = static_cast<Query *>(arg);
            for (unsigned k = 0; k < info->dlpi_phnum; ++k) {
                const ElfW(Phdr) &ph = info->dlpi_phdr[k];
                const uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
                if (ph.p_type == PT_LOAD && w->addr >= lo && w->addr - lo < ph.p_memsz)
                    w->inside = true;
            }
            return 1; // the first object is the program
        },
        &q);
    return q.inside;
}

} // namespace percpu::loader
