//===- ProgramRange.cpp - is an address the program's own? ---------------===//
//
// Apart from Internal.h: <link.h>'s ELF declarations clash with LLVM's
// llvm::ELF names, which the rest of the loader uses.
//===----------------------------------------------------------------------===//
#include <link.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace percpu::loader {

namespace {
// The program's PT_LOAD ranges, read once: its mappings do not change.
const std::vector<std::pair<uintptr_t, uintptr_t>> &programRanges()
{
    static const std::vector<std::pair<uintptr_t, uintptr_t>> ranges = [] {
        std::vector<std::pair<uintptr_t, uintptr_t>> out;
        dl_iterate_phdr(
            [](dl_phdr_info *info, size_t, void *arg) {
                auto *v = static_cast<std::vector<std::pair<uintptr_t, uintptr_t>> *>(arg);
                for (unsigned k = 0; k < info->dlpi_phnum; ++k) {
                    const ElfW(Phdr) &ph = info->dlpi_phdr[k];
                    if (ph.p_type == PT_LOAD)
                        v->emplace_back(info->dlpi_addr + ph.p_vaddr, ph.p_memsz);
                }
                return 1; // the first object is the program
            },
            &out);
        return out;
    }();
    return ranges;
}
} // namespace

bool addressInProgram(const void *p)
{
    const auto a = reinterpret_cast<uintptr_t>(p);
    for (const auto &[lo, size] : programRanges())
        if (a >= lo && a - lo < size)
            return true;
    return false;
}

} // namespace percpu::loader
