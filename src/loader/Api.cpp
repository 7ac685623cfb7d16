//===- Api.cpp - the C API of <percpu/loader.h> ---------------------------===//
#include "Internal.h"

using namespace percpu::loader;

extern "C" {

namespace {

constexpr int kKnownFlags = PCPU_RTLD_NO_PROCESS_SYMBOLS | PCPU_RTLD_FAR | PCPU_RTLD_NOINIT |
                            PCPU_RTLD_GLOBAL | PCPU_RTLD_DEEPBIND;

// Unknown bits are a caller's mistake (or a flag of a newer version): refused,
// as dlopen() refuses them, instead of being ignored.
bool knownFlags(const char *fn, int flags)
{
    if ((flags & ~kKnownFlags) == 0)
        return true;
    char hex[32];
    snprintf(hex, sizeof(hex), "0x%x", static_cast<unsigned>(flags & ~kKnownFlags));
    setError(std::string(fn) + ": unknown flag bits " + hex + " (PCPU_RTLD_* only)");
    errno = EINVAL;
    return false;
}

// The defined, non-local symbol `name` of m (either per-CPU spelling), or 0.
uint32_t findSymbol(const Module &m, const char *symbol)
{
    for (uint32_t i = 1; i < m.obj.symbols.size(); ++i) {
        const Symbol &s = m.obj.symbols[i];
        if (s.name == symbol && s.binding != STB_LOCAL && s.shndx != SHN_UNDEF)
            return i;
    }
    // Per-CPU variables answer to both spellings: "x" finds a module of the
    // 2006 convention's per_cpu__x, "per_cpu__x" a current module's x.
    std::string other = otherPerCpuSpelling(symbol);
    for (uint32_t i = 1; i < m.obj.symbols.size(); ++i) {
        const Symbol &s = m.obj.symbols[i];
        if (s.name == other && s.binding != STB_LOCAL && s.isDefinedInSection() &&
            isPerCpuSymbol(m.obj, s))
            return i;
    }
    return 0;
}

// pcpu_dlsym() and pcpu_dlfunc(): the symbol's address, or NULL with the
// reason in pcpu_dlerror().  `functionOnly` refuses what is not code.
void *lookup(const char *fn, pcpu_module *handle, const char *symbol, bool functionOnly)
{
    if (!handle || !symbol) {
        setError(std::string(fn) + ": NULL module or symbol");
        return nullptr;
    }
    auto *m = reinterpret_cast<Module *>(handle);
    std::lock_guard<std::recursive_mutex> guard(loader().lock);
    uint32_t i = findSymbol(*m, symbol);
    if (!i) {
        setError(m->name + ": error: no symbol '" + symbol + "'");
        return nullptr;
    }
    const Symbol &s = m->obj.symbols[i];
    const bool code = s.type == STT_FUNC || s.type == STT_GNU_IFUNC ||
                      (s.type == STT_NOTYPE && s.isDefinedInSection() &&
                       (m->obj.sections[s.shndx].flags & SHF_EXECINSTR));
    if (functionOnly && !code) {
        setError(m->name + ": error: '" + symbol + "' is " +
                 (s.type == STT_OBJECT || s.type == STT_TLS || s.type == STT_COMMON ? "a variable"
                                                                                  : "not code") +
                 ", not a function");
        return nullptr;
    }
    // A thread-local variable: its address in the calling thread, as
    // dlsym() gives (the thread's block is made if it has none).
    if (s.shndx < m->obj.sections.size() && isTlsSection(m->obj.sections[s.shndx]) && m->tlsSlot) {
        pcpu_tls_index ti{tls::kModuleTag | m->tlsSlot, m->symAddr[i]};
        return pcpu_tls_get_addr(&ti);
    }
    return reinterpret_cast<void *>(m->symAddr[i]);
}

} // namespace

pcpu_module *pcpu_dlopen(const char *path, int flags)
{
    if (!path) {
        setError("pcpu_dlopen: path is NULL");
        return nullptr;
    }
    if (!knownFlags("pcpu_dlopen", flags))
        return nullptr;
    // As dlopen(): the same file opened again is the same module, counted.
    char *resolved = realpath(path, nullptr);
    std::string real = resolved ? resolved : "";
    free(resolved);
    Loader &L = loader();
    std::lock_guard<std::recursive_mutex> guard(L.lock); // (load() takes it again)
    if (!real.empty())
        for (Module *m : L.modules)
            if (m->realPath == real) {
                ++m->refs;
                return reinterpret_cast<pcpu_module *>(m);
            }
    auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buf) {
        setError(std::string(path) + ": error: cannot read: " + buf.getError().message());
        return nullptr;
    }
    pcpu_module *h = load(path, (*buf)->getMemBufferRef(), flags, policyFor(flags));
    if (h)
        reinterpret_cast<Module *>(h)->realPath = real;
    return h;
}

pcpu_module *pcpu_dlopen_mem(const void *image, size_t size, const char *name, int flags)
{
    if (!image && size) {
        setError("pcpu_dlopen_mem: image is NULL");
        return nullptr;
    }
    if (!knownFlags("pcpu_dlopen_mem", flags))
        return nullptr;
    std::string n = name ? name : "<memory>";
    StringRef bytes(static_cast<const char *>(image), size);
    return load(n, MemoryBufferRef(bytes, n), flags, policyFor(flags));
}

void *pcpu_dlsym(pcpu_module *handle, const char *symbol)
{
    return lookup("pcpu_dlsym", handle, symbol, /*functionOnly=*/false);
}

void *pcpu_dlfunc(pcpu_module *handle, const char *symbol)
{
    return lookup("pcpu_dlfunc", handle, symbol, /*functionOnly=*/true);
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
    if (m->refs > 1) { // opened again: the last close unloads
        --m->refs;
        return 0;
    }
    if (!m->dependents.empty()) {
        std::string names;
        for (Module *d : m->dependents)
            names += (names.empty() ? "'" : ", '") + d->name + "'";
        setError(m->name + ": error: cannot unload: used by " + names + " (unload " +
                 (m->dependents.size() > 1 ? "them" : "it") + " first) [" + ruleId(Rule::Load) + "]");
        return -1;
    }
    for (uint64_t fn : m->exitcalls)
        reinterpret_cast<void (*)()>(fn)();
    runDestructors(*m);
    L.modules.erase(it);
    unloadOrDefer(m);
    return 0;
}

int pcpu_loader_set_process_scope(const char *const *objects, size_t n)
{
    Loader &L = loader();
    std::lock_guard<std::recursive_mutex> guard(L.lock);
    L.scope.clear();
    L.scoped = objects && n;
    for (size_t i = 0; L.scoped && i < n; ++i)
        if (objects[i] && *objects[i])
            L.scope.emplace_back(objects[i]);
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
    info->tls_bytes = m->tlsSize;
    info->tls_blocks = m->tlsSlot ? tls::blocksOf(m->tlsSlot) : 0;
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
    const tls::Stats t = tls::stats();
    st->tls_bytes = t.bytes;
    st->tls_blocks = t.blocks;
    st->closing = L.closing.size();
    return 0;
}
