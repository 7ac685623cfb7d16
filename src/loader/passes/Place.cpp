//===- passes/Place.cpp - place: the per-CPU block in every unit, its image --- ===//
#include "../Internal.h"

namespace percpu::loader {

Error placeBlock(Module &m)
{
    if (m.block.empty())
        return Error::success();
    void *p = pcpu_module_block_alloc(m.block.size ? m.block.size : 1, std::min<uint64_t>(m.block.align, kPage));
    if (!p) {
        const int e = errno;
        std::string why = strerror(e);
        // Every block lives inside one unit: past the stride, no amount of
        // free memory helps; say what would.
        pcpu_stats st{};
        pcpu_get_stats(&st);
        if (st.unit_stride && m.block.size > st.unit_stride / 2) {
            uint64_t want = uint64_t{1} << 20;
            while (want < 2 * m.block.size && want < (uint64_t{1} << 30))
                want <<= 1;
            why += "; units are " + std::to_string(st.unit_stride >> 20) +
                   " MiB apart (the stride) and a block must fit in one beside the others: start "
                   "the host with PERCPU_STRIDE=" + std::to_string(want >> 20) + "M or more";
        }
        return loadError(m.name, m.obj.sectionLabel(m.block.sections[0].section), std::nullopt, "",
                         "cannot allocate " + std::to_string(m.block.size) + " bytes of per-CPU data: " + why);
    }
    m.blockCanon = reinterpret_cast<uintptr_t>(p);
    pcpu_module_block_name(p, m.name.c_str()); // for pcpu_for_each_block(): best effort
    m.image.assign(m.block.size, 0);
    for (const PlacedSection &ps : m.block.sections) {
        m.blocks[ps.section] = Block{m.blockCanon + ps.offset, m.image.data() + ps.offset};
        const Section &s = m.obj.sections[ps.section];
        if (s.type != SHT_NOBITS)
            std::copy(s.data.begin(), s.data.end(), m.image.begin() + static_cast<long>(ps.offset));
    }
    return Error::success();
}

// The per-CPU image into every unit, once the fix-up has written it.
void copyImage(Module &m)
{
    if (!m.blockCanon || m.image.empty())
        return;
    // Whole pages shared copy-on-write by every unit, the rest copied.
    if (pcpu_module_block_fill(reinterpret_cast<void *>(m.blockCanon), m.image.data(), m.image.size()) == 0)
        return;
    unsigned n = pcpu_nr_cpus();
    for (unsigned c = 0; c < n; ++c)
        std::memcpy(reinterpret_cast<void *>(m.blockCanon + pcpu_unit_offset[c]), m.image.data(),
                    m.image.size());
}

// scan: with the far policy (PCPU_RTLD_FAR, PERCPU_FORCE_FAR), per-CPU address
// computations load full addresses from slots from the start.
Error makeIndirectIfFar(Module &m)
{
    if (!m.far)
        return Error::success();
    auto n = makeIndirect(m.obj);
    return n ? Error::success() : n.takeError();
}

// scan: the per-CPU block's canonical layout, by the elfpatch library (the
// one source of truth for the layout at link time and at load time).
Error planPerCpuBlock(Module &m)
{
    m.block = planBlock(m.obj);
    return Error::success();
}

Error copyPerCpuImage(Module &m)
{
    copyImage(m);
    return Error::success();
}

} // namespace percpu::loader
