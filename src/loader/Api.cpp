//===- Api.cpp - the C API of <percpu/loader.h> ---------------------------===//
#include "Internal.h"

using namespace percpu::loader;

extern "C" {

pcpu_module *pcpu_dlopen(const char *path, int flags)
{
    if (!path) {
        setError("pcpu_dlopen: path is NULL");
        return nullptr;
    }
    auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buf) {
        setError(std::string(path) + ": error: cannot read: " + buf.getError().message());
        return nullptr;
    }
    return load(path, (*buf)->getMemBufferRef(), flags);
}

pcpu_module *pcpu_dlopen_mem(const void *image, size_t size, const char *name, int flags)
{
    if (!image && size) {
        setError("pcpu_dlopen_mem: image is NULL");
        return nullptr;
    }
    std::string n = name ? name : "<memory>";
    StringRef bytes(static_cast<const char *>(image), size);
    return load(n, MemoryBufferRef(bytes, n), flags);
}

void *pcpu_dlsym(pcpu_module *handle, const char *symbol)
{
    if (!handle || !symbol) {
        setError("pcpu_dlsym: NULL module or symbol");
        return nullptr;
    }
    auto *m = reinterpret_cast<Module *>(handle);
    std::lock_guard<std::recursive_mutex> guard(loader().lock);
    for (uint32_t i = 1; i < m->obj.symbols.size(); ++i) {
        const Symbol &s = m->obj.symbols[i];
        if (s.name == symbol && s.binding != STB_LOCAL && s.shndx != SHN_UNDEF)
            return reinterpret_cast<void *>(m->symAddr[i]);
    }
    // Per-CPU variables answer to both spellings: "x" finds a module of the
    // 2006 convention's per_cpu__x, "per_cpu__x" a current module's x.
    std::string other = otherPerCpuSpelling(symbol);
    for (uint32_t i = 1; i < m->obj.symbols.size(); ++i) {
        const Symbol &s = m->obj.symbols[i];
        if (s.name == other && s.binding != STB_LOCAL && s.isDefinedInSection() &&
            isPerCpuSymbol(m->obj, s))
            return reinterpret_cast<void *>(m->symAddr[i]);
    }
    setError(m->name + ": error: no symbol '" + symbol + "'");
    return nullptr;
}

int pcpu_dlclose(pcpu_module *handle)
{
    if (!handle) {
        setError("pcpu_dlclose: NULL module");
        return -1;
    }
    auto *m = reinterpret_cast<Module *>(handle);
    Loader &L = loader();
    std::lock_guard<std::recursive_mutex> guard(L.lock);
    auto it = std::find(L.modules.begin(), L.modules.end(), m);
    if (it == L.modules.end()) {
        setError("pcpu_dlclose: not a loaded module");
        return -1;
    }
    if (!m->dependents.empty()) {
        std::string names;
        for (Module *d : m->dependents)
            names += (names.empty() ? "'" : ", '") + d->name + "'";
        setError(m->name + ": error: cannot unload: used by " + names);
        return -1;
    }
    for (uint64_t fn : m->exitcalls)
        reinterpret_cast<void (*)()>(fn)();
    runDestructors(*m);
    L.modules.erase(it);
    delete m;
    return 0;
}

const char *pcpu_dlerror(void)
{
    if (!hasError)
        return nullptr;
    hasError = false;
    return lastError.c_str();
}

int pcpu_module_get_info(const pcpu_module *handle, struct pcpu_module_info *info)
{
    if (!handle || !info) {
        errno = EINVAL;
        return -1;
    }
    auto *m = reinterpret_cast<const Module *>(handle);
    info->name = m->name.c_str();
    info->percpu_bytes = m->block.size;
    info->percpu_block = reinterpret_cast<void *>(m->blockCanon);
    info->far = m->far;
    info->mapped_bytes = m->mapSize;
    return 0;
}

} // extern "C"

extern "C" int pcpu_loader_get_stats(struct pcpu_loader_stats *st)
{
    if (!st) {
        errno = EINVAL;
        return -1;
    }
    Loader &L = loader();
    std::lock_guard<std::recursive_mutex> guard(L.lock);
    st->modules = L.modules.size();
    st->exports = L.exports.size();
    st->mapped_bytes = 0;
    for (Module *m : L.modules)
        st->mapped_bytes += m->mapSize;
    return 0;
}
