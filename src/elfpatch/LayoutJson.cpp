// The layout JSON schema ("format": "percpu-layout", "version": 1): written
// by `percpu-elfpatch layout --format json`, read back by `check --baseline`.
// Writer and reader share this file and these keys, so that they cannot
// drift apart.  A reader ignores keys it does not know; a new key that
// changes the meaning of an old one needs a new version.
#include "percpu/elfpatch/Check.h"
#include "percpu/elfpatch/Compat.h"
#include "percpu/elfpatch/Diagnostic.h"
#include "percpu/elfpatch/Report.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace llvm;

namespace percpu::elfpatch {

namespace {
constexpr const char *kFormat = "format";
constexpr const char *kVersion = "version";
constexpr const char *kFile = "file";
constexpr const char *kKind = "kind";
constexpr const char *kBlock = "block";
constexpr const char *kVariables = "variables";
constexpr const char *kName = "name";
constexpr const char *kSection = "section";
constexpr const char *kOffset = "offset";
constexpr const char *kSize = "size";
constexpr const char *kAlign = "align";
constexpr const char *kPaddingBefore = "padding_before";
constexpr const char *kCacheLines = "cache_lines";
constexpr const char *kInput = "input";
constexpr const char *kOccurrence = "occurrence";
constexpr const char *kPadding = "padding";
constexpr const char *kCacheline = "cacheline";
constexpr const char *kCpus = "cpus";
constexpr const char *kBytesForCpus = "bytes_for_cpus";
constexpr const char *kKernelAllocation = "kernel_allocation";
constexpr const char *kModuleReserve = "module_reserve";
constexpr const char *kReorder = "reorder";
constexpr const char *kOrder = "order";
} // namespace

json::Value layoutJson(const LayoutReport &r)
{
    json::Array vars;
    for (const LayoutRow &row : r.rows) {
        json::Object v{{kName, row.name},
                       {kSection, row.section},
                       {kOffset, static_cast<int64_t>(row.offset)},
                       {kSize, static_cast<int64_t>(row.size)},
                       {kAlign, static_cast<int64_t>(row.align)},
                       {kPaddingBefore, static_cast<int64_t>(row.paddingBefore)},
                       {kCacheLines, json::Array{static_cast<int64_t>(row.firstLine),
                                                   static_cast<int64_t>(row.lastLine)}}};
        // What tells apart two variables of one name (baselines key on it).
        if (!row.input.empty())
            v[kInput] = row.input;
        if (row.occurrence)
            v[kOccurrence] = static_cast<int64_t>(row.occurrence);
        vars.push_back(std::move(v));
    }
    json::Object o{{kFormat, "percpu-layout"},
                   {kVersion, 1},
                   {kFile, r.file},
                   {kKind, r.sharedObject ? "shared-object" : r.program ? "program" : r.kernel ? "kernel-module" : "object"},
                   {kBlock, json::Object{{kSize, static_cast<int64_t>(r.blockSize)},
                                          {kAlign, static_cast<int64_t>(r.blockAlign)},
                                          {kPadding, static_cast<int64_t>(r.padding)},
                                          {kCacheline, static_cast<int64_t>(r.cacheline)},
                                          {kCpus, static_cast<int64_t>(r.cpus)},
                                          {kBytesForCpus, static_cast<int64_t>(r.blockSize * r.cpus)}}},
                   {kVariables, std::move(vars)}};
    if (r.kernel)
        o[kKernelAllocation] = json::Object{{kSize, static_cast<int64_t>(r.kernelSize)},
                                              {kAlign, static_cast<int64_t>(r.kernelAlign)},
                                              {kModuleReserve, static_cast<int64_t>(r.reserve)}};
    if (!r.reorder.empty()) {
        json::Array order;
        for (const std::string &n : r.reorder)
            order.push_back(n);
        o[kReorder] = json::Object{{kOrder, std::move(order)},
                                    {kPadding, static_cast<int64_t>(r.reorderPadding)}};
    }
    return o;
}

Expected<Baseline> readBaseline(const std::string &path)
{
    auto buf = MemoryBuffer::getFile(path);
    if (!buf)
        return makeError(Rule::LayoutDrift, path, "", std::nullopt, "",
                         "cannot read the baseline: " + buf.getError().message());
    auto json = json::parse((*buf)->getBuffer());
    if (!json)
        return makeError(Rule::LayoutDrift, path, "", std::nullopt, "",
                         "the baseline is not JSON: " + toString(json.takeError()));
    Baseline b;
    const json::Object *o = json->getAsObject();
    const json::Object *block = o ? o->getObject(kBlock) : nullptr;
    const json::Array *vars = o ? o->getArray(kVariables) : nullptr;
    if (!o || !block || !vars)
        return makeError(Rule::LayoutDrift, path, "", std::nullopt, "",
                         "not a layout written by `percpu-elfpatch layout --format json` "
                         "(expected \"block\" and \"variables\")");
    if (auto f = o->getString(kFile))
        b.file = f->str();
    b.blockSize = static_cast<uint64_t>(valueOr(block->getInteger(kSize), 0));
    for (const json::Value &v : *vars) {
        const json::Object *vo = v.getAsObject();
        if (!vo || !vo->getString(kName))
            return makeError(Rule::LayoutDrift, path, "", std::nullopt, "",
                             "a variable entry without a \"name\"");
        Baseline::Var var;
        var.name = vo->getString(kName)->str();
        var.section = valueOr(vo->getString(kSection), "").str();
        var.offset = static_cast<uint64_t>(valueOr(vo->getInteger(kOffset), 0));
        var.size = static_cast<uint64_t>(valueOr(vo->getInteger(kSize), 0));
        var.input = valueOr(vo->getString(kInput), "").str();
        var.occurrence = static_cast<unsigned>(valueOr(vo->getInteger(kOccurrence), 0));
        b.vars.push_back(std::move(var));
    }
    return b;
}

} // namespace percpu::elfpatch
