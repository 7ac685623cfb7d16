// Per-CPU data in shared objects (DT_NEEDED libraries and dlopen()ed
// plugins) built with percpu_add_library(), and the one-runtime check.
//
// A shared object's per-CPU variables are gathered by percpu-shared.ld into
// a page-aligned template in its own data.  Its start-up object (library.cc)
// calls pcpu__register_shared() before any other constructor of the object;
// then:
//   1. the block gets an offset in the one per-CPU space (spaceAlloc), like
//      a module's: its canonical address B obeys the invariant;
//   2. every address of the template that the dynamic loader wrote is moved
//      to the block: a word holding T + k becomes B + k.  Such words are the
//      targets of the objects' dynamic relocations (GOT entries of -fPIC
//      code, the indirect slots that `patch --indirect` made of its
//      PC-relative address computations, data pointers, export records),
//      in the object itself, in the program and in every other object that
//      links the runtime: whoever reached the variable through the dynamic
//      linker reaches the block now.  In the others only relocations against
//      symbols are read (a relative one names its own object).  RELRO pages
//      are made writable for the moment it takes;
//   3. every CPU's copy is filled from the template (copy-on-write, as a
//      module's image), and the template's pages are made inaccessible, as
//      the program's are: a pointer that escaped the move faults.
// The destructor gives the block back (zeroed in every unit, reusable).
//
// Why move addresses rather than map units under the template where ld.so
// put it (a chunk whose canonical range is the object's own data): that
// needs every CPU's copy at template + pcpu_unit_offset[cpu], address space
// the process may already use (other libraries, thread stacks, heaps), and
// after dlclose() the same canonical range belongs to whatever ld.so maps
// next.  Moving the addresses always works and costs nothing on the access
// path: -fPIC code reaches a global variable through its GOT entry anyway,
// and a patched `lea` is a load of the same cost.
#include "runtime.h"
#include "lock.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

namespace percpu::rt {
namespace {

constexpr uintptr_t kPageBytes = PCPU_PAGE_BYTES;

// A shared object's registered block.
struct SharedObject {
    pcpu__image *image = nullptr;
    uintptr_t lo = 0, hi = 0;   // the template [__per_cpu_start, __per_cpu_end)
    uintptr_t block = 0;        // canonical address of the block (0: empty)
    bool guarded = false;       // template pages made inaccessible
    char *path = nullptr;       // as the dynamic loader names it
    // Variables the program copied (adoptCopy): [tlo, thi) of the template
    // has its canonical address at `copy`, not in the block.
    struct Copy {
        uintptr_t tlo, thi, copy;
    } *copies = nullptr;
    unsigned nCopies = 0;
    SharedObject *next = nullptr;
};

// A module block's name (pcpu_module_block_name).
struct NamedBlock {
    uintptr_t canonical = 0;
    char *name = nullptr;
    NamedBlock *next = nullptr;
};

struct Registry {
    FutexLock lock;
    // Set by an exit handler that runs before the dynamic linker's
    // destructors of shared objects (watchExit(), from the program's
    // start-up object): at exit a block is not given back.  Zeroing it
    // would only cost time, and would hide from LeakSanitizer (whose check
    // runs after those destructors) the heap pointers it held.
    std::atomic<bool> exiting{false};
    // Set when the program's constructors run (pcpu__program_running):
    // objects that register later were dlopen()ed, and no copy relocation
    // of the program can name their variables (the program was relocated
    // before they were loaded).
    std::atomic<bool> programStarted{false};
    std::atomic<bool> exitWatched{false};
    SharedObject *head = nullptr; // newest first
    NamedBlock *named = nullptr;  // newest first
    unsigned count = 0;
    size_t bytes = 0;
};
constinit Registry registry;

bool inTemplate(const SharedObject &o, uintptr_t v) { return o.block && v >= o.lo && v < o.hi; }
// Whether `where` lies in the object's start-up record, whose words name the
// template and stay as they are.
bool inRecord(const SharedObject &o, uintptr_t where)
{
    return where >= reinterpret_cast<uintptr_t>(o.image) && where < reinterpret_cast<uintptr_t>(o.image + 1);
}

// ---- the dynamic loader's view of an object ------------------------------------

struct Dyn {
    uintptr_t rela = 0, relaSize = 0, relaEnt = sizeof(ElfW(Rela));
    uintptr_t relaCount = 0; // DT_RELACOUNT: how many relative ones come first
    uintptr_t relr = 0, relrSize = 0;
    uintptr_t strtab = 0, symtab = 0;
    bool needsRuntime = false;
};

// glibc relocates the dynamic section's pointers in place (x86-64, AArch64);
// an address below the load address is still an offset.
uintptr_t dynAddress(const dl_phdr_info &info, uintptr_t p)
{
    return info.dlpi_addr && p < info.dlpi_addr ? p + info.dlpi_addr : p;
}

bool readDynamic(const dl_phdr_info &info, Dyn &d)
{
    const ElfW(Dyn) *dyn = nullptr;
    for (int i = 0; i < info.dlpi_phnum; ++i)
        if (info.dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = reinterpret_cast<const ElfW(Dyn) *>(info.dlpi_addr + info.dlpi_phdr[i].p_vaddr);
    if (!dyn)
        return false;
    for (const ElfW(Dyn) *e = dyn; e->d_tag != DT_NULL; ++e)
        switch (e->d_tag) {
        case DT_RELA: d.rela = dynAddress(info, e->d_un.d_ptr); break;
        case DT_RELASZ: d.relaSize = e->d_un.d_val; break;
        case DT_RELAENT: d.relaEnt = e->d_un.d_val; break;
        case DT_RELACOUNT: d.relaCount = e->d_un.d_val; break;
#ifdef DT_RELR
        case DT_RELR: d.relr = dynAddress(info, e->d_un.d_ptr); break;
        case DT_RELRSZ: d.relrSize = e->d_un.d_val; break;
#endif
        case DT_STRTAB: d.strtab = dynAddress(info, e->d_un.d_ptr); break;
        case DT_SYMTAB: d.symtab = dynAddress(info, e->d_un.d_ptr); break;
        default: break;
        }
    if (d.strtab)
        for (const ElfW(Dyn) *e = dyn; e->d_tag != DT_NULL; ++e)
            if (e->d_tag == DT_NEEDED &&
                !strncmp(reinterpret_cast<const char *>(d.strtab + e->d_un.d_val), "libpercpu.so", 12))
                d.needsRuntime = true;
    if (d.relaEnt < sizeof(ElfW(Rela)))
        d.relaEnt = sizeof(ElfW(Rela));
    return true;
}

#if defined(__x86_64__)
[[maybe_unused]] constexpr unsigned kCopyReloc = R_X86_64_COPY;
#elif defined(__aarch64__)
[[maybe_unused]] constexpr unsigned kCopyReloc = R_AARCH64_COPY;
#endif

bool containsAddress(const dl_phdr_info &info, uintptr_t p)
{
    for (int i = 0; i < info.dlpi_phnum; ++i) {
        const ElfW(Phdr) &ph = info.dlpi_phdr[i];
        if (ph.p_type == PT_LOAD && p >= info.dlpi_addr + ph.p_vaddr &&
            p < info.dlpi_addr + ph.p_vaddr + ph.p_memsz)
            return true;
    }
    return false;
}

const char *objectName(const dl_phdr_info &info, bool main)
{
    if (info.dlpi_name && *info.dlpi_name)
        return info.dlpi_name;
    if (!main)
        return "(unnamed object)";
    static char exe[256];
    return programPath(exe, sizeof(exe));
}

// ---- moving addresses ---------------------------------------------------------------

struct Move {
    uintptr_t where;
    uintptr_t value;
};

// A growable array on malloc: libpercpu.so.0 links no C++ library (a
// program that loads it pays for none).
template <typename T>
class Array {
public:
    Array() = default;
    Array(const Array &) = delete;
    Array &operator=(const Array &) = delete;
    ~Array() { free(items_); }
    bool push(const T &v)
    {
        if (size_ == cap_) {
            size_t cap = cap_ ? 2 * cap_ : 16;
            auto *grown = static_cast<T *>(realloc(items_, cap * sizeof(T)));
            if (!grown) {
                failed_ = true;
                return false;
            }
            items_ = grown;
            cap_ = cap;
        }
        items_[size_++] = v;
        return true;
    }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    bool failed() const { return failed_; }
    const T &operator[](size_t i) const { return items_[i]; }
    const T *begin() const { return items_; }
    const T *end() const { return items_ + size_; }

private:
    T *items_ = nullptr;
    size_t size_ = 0, cap_ = 0;
    bool failed_ = false;
};

struct Walk {
    SharedObject *self = nullptr; // the object registering now
    bool onlySelf = false;        // its block is empty: nothing else can name it
    int error = 0;
    char why[512] = {};
    unsigned seen = 0;
};

// Relocated words may sit in what ASan calls a global's redzone (its own
// metadata, for one): read them as the dynamic linker wrote them.
#define PCPU_NO_ASAN __attribute__((no_sanitize("address")))

// The word's value moved to its block, or 0 when it is in no template.
uintptr_t movedValue(uintptr_t v)
{
    for (const SharedObject *o = registry.head; o; o = o->next)
        if (inTemplate(*o, v))
            return o->block + (v - o->lo);
    return 0;
}

// A word of per-CPU data already copied into the units, at canonical address
// `canonical`: moved in every unit's copy that still names a template.
PCPU_NO_ASAN void considerCopies(uintptr_t canonical, Array<Move> &moves)
{
    for (unsigned cpu = 0; cpu < pcpu__nr_units; ++cpu) {
        const uintptr_t at = canonical + pcpu_unit_offset[cpu];
        if (const uintptr_t to = movedValue(*reinterpret_cast<const uintptr_t *>(at)))
            moves.push(Move{at, to});
    }
}

// A word that a relative relocation (RELATIVE, RELR) of the registering
// object wrote at `where`: an address of that object, so only its own
// template can be named.
PCPU_NO_ASAN void considerOwnWord(uintptr_t where, const SharedObject &self, Array<Move> &moves)
{
    if (inRecord(self, where))
        return;
    const uintptr_t v = *reinterpret_cast<const uintptr_t *>(where);
    if (inTemplate(self, v))
        moves.push(Move{where, self.block + (v - self.lo)});
}

// A word that a relocation against a symbol wrote at `where`, in any object:
// it may hold any object's address.
PCPU_NO_ASAN void considerWord(uintptr_t where, const SharedObject *self, Array<Move> &moves)
{
    // The program's static block (percpu_add_host): copied into the units
    // at start-up, before any shared object registers, and its canonical
    // addresses are its template's (inaccessible since).  A per-CPU pointer
    // initialised with a shared object's variable is moved in every copy.
    const SpaceConfig &cfg = spaceConfig();
    if (where - cfg.staticStart < cfg.staticSize) {
        considerCopies(where, moves);
        return;
    }
    for (const SharedObject *o = registry.head; o; o = o->next) {
        if (inRecord(*o, where))
            return;
        // A word of a template already copied into the units (another
        // object's, registered before this one; inaccessible when guarded):
        // its addresses of earlier objects were moved before the copy, but
        // one naming this object's template (a per-CPU pointer initialised
        // with a variable of an object registered later) is moved now, in
        // every unit's copy that still holds it.
        if (o != self && inTemplate(*o, where)) {
            considerCopies(o->block + (where - o->lo), moves);
            return;
        }
    }
    if (const uintptr_t to = movedValue(*reinterpret_cast<const uintptr_t *>(where)))
        moves.push(Move{where, to});
}

// The program copied a per-CPU variable of `self` into its own data (a copy
// relocation: gcc's -fPIE and non-PIE code name a library's variable
// directly), and every other reference, the object's own GOT entry too, now
// goes to that copy: the copy's address is the variable's canonical
// address, and its per-CPU copies are placed there (spaceAdoptCopy).  When
// they cannot be (the copy is outside chunk 0's range: no program block, or
// a small PERCPU_STRIDE), the load is refused.
// RETURNS: whether it failed (w.error and w.why say why).
bool adoptCopy(const dl_phdr_info &info, const Dyn &d, const ElfW(Rela) &r, Walk &w)
{
#ifndef PCPU_SHARED_RUNTIME
    // libpercpu.a registers no shared object (see pcpu__register_shared),
    // and a static program has no dlopen().
    (void)info, (void)d, (void)r, (void)w;
    return false;
#else
    if (ELF64_R_TYPE(r.r_info) != kCopyReloc || !d.symtab || !d.strtab)
        return false;
    const auto *sym = reinterpret_cast<const ElfW(Sym) *>(d.symtab) + ELF64_R_SYM(r.r_info);
    const char *name = reinterpret_cast<const char *>(d.strtab + sym->st_name);
    void *h = dlopen(w.self->path, RTLD_LAZY | RTLD_NOLOAD);
    if (!h)
        return false;
    void *def = dlsym(h, name);
    dlclose(h);
    const uintptr_t a = reinterpret_cast<uintptr_t>(def);
    if (a < w.self->lo || a >= w.self->hi)
        return false;
    const uintptr_t copy = info.dlpi_addr + r.r_offset;
    const size_t size = std::min<size_t>(sym->st_size, w.self->hi - a);
    if (spaceAdoptCopy(copy, def, size) == 0) {
        auto *grown = static_cast<SharedObject::Copy *>(
            realloc(w.self->copies, (w.self->nCopies + 1) * sizeof(SharedObject::Copy)));
        if (grown) { // (without it, pcpu_canonical() answers the block's address)
            grown[w.self->nCopies++] = {a, a + size, copy};
            w.self->copies = grown;
        }
        return false;
    }
    snprintf(w.why, sizeof(w.why),
             "%s copies the per-CPU variable '%s' of %s into its own data (a copy relocation), "
             "out of the per-CPU space's reach (%s): compile the code that uses it with -fPIC "
             "or -mno-direct-extern-access",
             objectName(info, true), name, w.self->path,
             errno == ERANGE ? "past the first chunk's stride" : "inside the program's per-CPU block");
    w.error = ENOEXEC;
    return true;
#endif
}

// An exit handler registered now runs before the dynamic linker's
// destructors of shared objects, which __libc_start_main registers before
// the program's constructors run.  Not from a shared object's registration
// at start-up: the libraries' constructors run before that, and a handler
// they register runs after the destructors (too late; LeakSanitizer then
// finds the blocks zeroed).
void watchExit()
{
    if (!registry.exitWatched.exchange(true))
        atexit([] { registry.exiting.store(true, std::memory_order_relaxed); });
}

PCPU_NO_ASAN void storeMoves(const Array<Move> &moves)
{
    for (const Move &m : moves)
        __atomic_store_n(reinterpret_cast<uintptr_t *>(m.where), m.value, __ATOMIC_RELAXED);
}

// Moves, in one loaded object, every word a dynamic relocation wrote that
// holds an address in a registered template.
int moveInObject(dl_phdr_info *info, size_t, void *arg)
{
    Walk &w = *static_cast<Walk *>(arg);
    const bool main = w.seen++ == 0;
    Dyn d;
    if (w.error || !readDynamic(*info, d))
        return 0;
    // (By its start-up record: an empty template's address may be the
    // segment's end.)
    const bool self = containsAddress(*info, reinterpret_cast<uintptr_t>(w.self->image));
    if ((w.onlySelf && !self) || (!main && !self && !d.needsRuntime))
        return 0;

    // A relative relocation (RELATIVE, RELR) writes an address of the object
    // that holds it, so only the registering object's own can name its
    // template: in every other object only relocations against symbols are
    // read, past the relative ones that the linker puts first
    // (DT_RELACOUNT).  A large program's tens of thousands of relative
    // relocations then cost each registration nothing.
    Array<Move> moves;
    uintptr_t first = d.rela;
    if (!self && d.relaCount <= d.relaSize / d.relaEnt)
        first += d.relaCount * d.relaEnt;
    for (uintptr_t p = first; p && p + d.relaEnt <= d.rela + d.relaSize; p += d.relaEnt) {
        const auto &r = *reinterpret_cast<const ElfW(Rela) *>(p);
        if (main && !registry.programStarted.load(std::memory_order_relaxed) && adoptCopy(*info, d, r, w))
            return 1;
        switch (ELF64_R_TYPE(r.r_info)) {
#if defined(__x86_64__)
        case R_X86_64_RELATIVE:
#elif defined(__aarch64__)
        case R_AARCH64_RELATIVE:
#endif
            if (self)
                considerOwnWord(info->dlpi_addr + r.r_offset, *w.self, moves);
            break;
#if defined(__x86_64__)
        case R_X86_64_64: case R_X86_64_GLOB_DAT:
#elif defined(__aarch64__)
        case R_AARCH64_ABS64: case R_AARCH64_GLOB_DAT:
#endif
            considerWord(info->dlpi_addr + r.r_offset, w.self, moves);
            break;
        default: break;
        }
    }
    // RELR: an address, then bitmaps of the 63 words that follow it.
    uintptr_t where = 0;
    for (uintptr_t p = self ? d.relr : 0; p && p + sizeof(ElfW(Addr)) <= d.relr + d.relrSize;
         p += sizeof(ElfW(Addr))) {
        const ElfW(Addr) e = *reinterpret_cast<const ElfW(Addr) *>(p);
        if ((e & 1) == 0) {
            where = info->dlpi_addr + e;
            considerOwnWord(where, *w.self, moves);
            where += sizeof(ElfW(Addr));
        } else {
            for (unsigned i = 1; i < 8 * sizeof(ElfW(Addr)); ++i)
                if ((e >> i) & 1)
                    considerOwnWord(where + (i - 1) * sizeof(ElfW(Addr)), *w.self, moves);
            where += (8 * sizeof(ElfW(Addr)) - 1) * sizeof(ElfW(Addr));
        }
    }
    if (moves.failed()) {
        snprintf(w.why, sizeof(w.why), "out of memory listing the addresses to move in %s",
                 objectName(*info, main));
        w.error = ENOMEM;
        return 1;
    }
    if (moves.empty())
        return 0;

    // RELRO is read-only by now: writable for the moment it takes.
    uintptr_t relroLo = 0, relroHi = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i)
        if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
            relroLo = (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr) & ~(kPageBytes - 1);
            relroHi = (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr + info->dlpi_phdr[i].p_memsz) &
                      ~(kPageBytes - 1);
        }
    bool relro = false;
    for (const Move &m : moves)
        relro |= m.where >= relroLo && m.where < relroHi;
    void *relroAt = reinterpret_cast<void *>(relroLo);
    if (relro && mprotect(relroAt, relroHi - relroLo, PROT_READ | PROT_WRITE) != 0) {
        snprintf(w.why, sizeof(w.why), "cannot make the RELRO pages of %s writable: %s",
                 objectName(*info, main), strerror(errno));
        w.error = errno;
        return 1;
    }
    storeMoves(moves);
    if (relro)
        mprotect(relroAt, relroHi - relroLo, PROT_READ);
    return 0;
}

int findPath(dl_phdr_info *info, size_t, void *arg)
{
    auto *o = static_cast<SharedObject *>(arg);
    if (!containsAddress(*info, o->lo ? o->lo : reinterpret_cast<uintptr_t>(o->image)))
        return 0;
    o->path = strdup(info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "(unnamed object)");
    return 1;
}

void unlink(SharedObject *o)
{
    for (SharedObject **p = &registry.head; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            return;
        }
}

// ---- one runtime per process --------------------------------------------------------
//
// Each copy of the runtime carries a note (".note.percpu.runtime", owner
// "percpu-runtime"; `patch`'s layout record is owner "percpu"): type 1 in
// libpercpu.a, 2 in libpercpu.so.0.  Two copies in one process
// would split the per-CPU space in two, silently: start-up looks for another
// note in every loaded object and stops with both objects' names.
#ifdef PCPU_SHARED_RUNTIME
#define PCPU_RUNTIME_NOTE_TYPE "2"
#else
#define PCPU_RUNTIME_NOTE_TYPE "1"
#endif
#if defined(__aarch64__)
#define PCPU_NOTE_TYPE "%note"
#else
#define PCPU_NOTE_TYPE "@note"
#endif
__asm__(".pushsection .note.percpu.runtime, \"a\", " PCPU_NOTE_TYPE "\n"
        ".balign 4\n"
        ".globl pcpu__runtime_note\n"
        ".hidden pcpu__runtime_note\n"
        "pcpu__runtime_note:\n"
        ".long 15, 4, " PCPU_RUNTIME_NOTE_TYPE "\n"
        ".asciz \"percpu-runtime\"\n"
        ".balign 4\n"
        ".long 1\n"
        ".popsection\n");
extern "C" const char pcpu__runtime_note[] __attribute__((visibility("hidden")));

struct RuntimeSearch {
    bool main = true;
    const char *mine = nullptr;   // the object holding this copy
    const char *other = nullptr;  // one holding another copy
    unsigned otherType = 0;
};

int findRuntimes(dl_phdr_info *info, size_t, void *arg)
{
    auto &s = *static_cast<RuntimeSearch *>(arg);
    const bool main = s.main;
    s.main = false;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr) &ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_NOTE)
            continue;
        const char *p = reinterpret_cast<const char *>(info->dlpi_addr + ph.p_vaddr);
        const char *end = p + ph.p_memsz;
        while (p + 12 <= end) {
            uint32_t nameSize, descSize, type;
            memcpy(&nameSize, p, 4);
            memcpy(&descSize, p + 4, 4);
            memcpy(&type, p + 8, 4);
            const char *name = p + 12;
            const size_t len = 12 + ((nameSize + 3) & ~3u) + ((descSize + 3) & ~3u);
            if (len > static_cast<size_t>(end - p))
                break;
            if (nameSize == 15 && !memcmp(name, "percpu-runtime", 15) && (type == 1 || type == 2)) {
                if (p == pcpu__runtime_note)
                    s.mine = objectName(*info, main);
                else if (!s.other) {
                    s.other = objectName(*info, main);
                    s.otherType = type;
                }
            }
            p += len;
        }
    }
    return 0;
}

} // namespace

// Before main(), program_invocation_name may be empty: /proc/self/exe.
const char *programPath(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n > 0) {
        buf[n] = 0;
        return buf;
    }
    return *program_invocation_name ? program_invocation_name : "the program";
}

void checkOneRuntime()
{
    RuntimeSearch s;
    dl_iterate_phdr(findRuntimes, &s);
    if (!s.other)
        return;
    fprintf(stderr,
            "percpu: two per-CPU runtimes in one process: %s (%s) and %s (%s); each would "
            "keep its own per-CPU space.  Link every component with the shared runtime "
            "(percpu::runtime, libpercpu.so.0), or the whole program statically with "
            "libpercpu.a and no library that links libpercpu.so.0\n",
            s.mine ? s.mine : "?",
#ifdef PCPU_SHARED_RUNTIME
            "libpercpu.so.0",
#else
            "libpercpu.a",
#endif
            s.other, s.otherType == 2 ? "libpercpu.so.0" : "libpercpu.a");
    _exit(127); // as the dynamic linker does when a program cannot start
}

const pcpu_export *sharedExport(const char *name)
{
    LockGuard guard(registry.lock);
    for (const SharedObject *o = registry.head; o; o = o->next)
        for (const pcpu_export *e = o->image->exports_start; e && e < o->image->exports_stop; ++e)
            if (e->name && !strcmp(e->name, name))
                return e;
    return nullptr;
}

// Shared objects, oldest first, then named module blocks, oldest first.
// CONTEXT: takes the registry lock (fn must not load or unload).
int sharedBlocks(int (*fn)(const pcpu_block_info *info, void *arg), void *arg)
{
    LockGuard guard(registry.lock);
    Array<const SharedObject *> objects;
    for (const SharedObject *o = registry.head; o; o = o->next)
        objects.push(o);
    for (size_t i = objects.size(); i-- > 0;) {
        const SharedObject &o = *objects[i];
        pcpu_block_info info{PCPU_BLOCK_SHARED_OBJECT, o.path, reinterpret_cast<void *>(o.block),
                             o.block ? spaceUnitOffset(reinterpret_cast<void *>(o.block)) : 0,
                             o.hi - o.lo, 1};
        if (int r = fn(&info, arg))
            return r;
    }
    Array<const NamedBlock *> named;
    for (const NamedBlock *b = registry.named; b; b = b->next)
        named.push(b);
    for (size_t i = named.size(); i-- > 0;) {
        const NamedBlock &b = *named[i];
        SpaceBlock sb;
        size_t size = spaceDescribe(b.canonical, sb) && sb.live ? sb.bytes : 0;
        pcpu_block_info info{PCPU_BLOCK_MODULE, b.name, reinterpret_cast<void *>(b.canonical),
                             spaceUnitOffset(reinterpret_cast<void *>(b.canonical)), size, 1};
        if (int r = fn(&info, arg))
            return r;
    }
    return 0;
}

void forgetBlockName(const void *canonical)
{
    LockGuard guard(registry.lock);
    for (NamedBlock **p = &registry.named; *p; p = &(*p)->next)
        if ((*p)->canonical == reinterpret_cast<uintptr_t>(canonical)) {
            NamedBlock *b = *p;
            *p = b->next;
            free(b->name);
            free(b);
            return;
        }
}

// A shared object's block: aligned as its variables need (the fragment's
// ALIGNOF), at least to a cache line, so that two objects' variables never
// share one, and to a page when it spans one: its whole pages then share
// the template's copy-on-write (spaceFillImage).  Small blocks share pages:
// a process with many small libraries pays a page per CPU for all of them,
// not one each.
size_t blockAlign(const pcpu__image &image, size_t size)
{
    const size_t a = image.align; // 0 from a start-up object that predates it
    if (a == 0 || (a & (a - 1)) || a > kPageBytes || size >= kPageBytes)
        return kPageBytes;
    return std::max<size_t>(a, 64);
}

// CONTEXT: a signal handler (the guard's): tries the registry lock only.
bool describeSharedTemplate(uintptr_t a, char *buf, size_t len)
{
    if (!registry.lock.try_lock())
        return false;
    bool found = false;
    for (const SharedObject *o = registry.head; o && !found; o = o->next) {
        if (!o->guarded || a < o->lo || a >= reinterpret_cast<uintptr_t>(o->image->page_end))
            continue;
        found = true;
        Dl_info info{};
        const char *name = dladdr(reinterpret_cast<void *>(a), &info) && info.dli_sname &&
                                   reinterpret_cast<uintptr_t>(info.dli_saddr) >= o->lo
                               ? info.dli_sname
                               : nullptr;
        char var[160] = "";
        if (name)
            snprintf(var, sizeof(var), ", variable `%s`+0x%lx", name,
                     static_cast<unsigned long>(a - reinterpret_cast<uintptr_t>(info.dli_saddr)));
        snprintf(buf, len, "the template of %s's per-CPU data (+0x%lx%s)", o->path ? o->path : "a shared object",
                 static_cast<unsigned long>(a - o->lo), var);
    }
    registry.lock.unlock();
    return found;
}

} // namespace percpu::rt

using namespace percpu::rt;

extern "C" {

// CONTEXT: takes the registry lock, the space lock and the dynamic loader's.
// RETURNS: 0, or -1 with errno and a message on stderr.
int pcpu__register_shared(struct pcpu__image *image)
{
#ifndef PCPU_SHARED_RUNTIME
    // A program linked with libpercpu.a that exports its symbols (as
    // percpu_add_host does) would take a shared object's registration
    // itself; start-up has refused the process already if the object
    // brought libpercpu.so.0 (checkOneRuntime), so this is a library built
    // against an older runtime, or a process that skipped that check.
    fprintf(stderr, "percpu: a shared object with per-CPU data needs the shared runtime "
                    "(libpercpu.so.0), and this program was linked with libpercpu.a\n");
    (void)image;
    errno = ENOTSUP;
    return -1;
#endif
    initialize();
    if (!image || image->version < 1 || image->version > PCPU__IMAGE_VERSION || image->end < image->start) {
        fprintf(stderr, "percpu: a shared object's start-up record is malformed (version %u)\n",
                image ? image->version : 0);
        errno = EINVAL;
        return -1;
    }
    if (!pcpu__nr_units) {
        fprintf(stderr, "percpu: per-CPU units are not available for a shared object: %s\n",
                strerror(errno));
        return -1;
    }
    auto *o = static_cast<SharedObject *>(calloc(1, sizeof(SharedObject)));
    if (!o) {
        errno = ENOMEM;
        return -1;
    }
    o->image = image;
    o->lo = reinterpret_cast<uintptr_t>(image->start);
    o->hi = reinterpret_cast<uintptr_t>(image->end);
    dl_iterate_phdr(findPath, o);
    const char *path = o->path ? o->path : "(unnamed object)";
    const size_t size = o->hi - o->lo;

    LockGuard guard(registry.lock);
    if (size) {
        void *block = spaceAlloc(size, blockAlign(*image, size), Owner::Module);
        if (!block) {
            int e = errno;
            fprintf(stderr, "percpu: %s: cannot allocate its %zu bytes of per-CPU data: %s\n", path,
                    size, strerror(e));
            free(o->path);
            free(o);
            errno = e;
            return -1;
        }
        o->block = reinterpret_cast<uintptr_t>(block);
    }
    o->next = registry.head;
    registry.head = o;

    // Addresses first (the template's own words too: a variable initialised
    // with a per-CPU address holds the block's in every copy), then the copies.
    // An object without per-CPU data of its own is walked too, itself only:
    // its GOT entries and data may name other objects' variables (their
    // templates), and would read and write one copy at a wrong address.
    Walk w;
    w.self = o;
    w.onlySelf = size == 0;
    dl_iterate_phdr(moveInObject, &w);
    if (size) {
        if (!w.error && spaceFillImage(reinterpret_cast<void *>(o->block), reinterpret_cast<const void *>(o->lo), size) != 0) {
            w.error = errno;
            snprintf(w.why, sizeof(w.why), "cannot fill the per-CPU copies: %s", strerror(errno));
        }
    }
    if (w.error) {
        fprintf(stderr, "percpu: %s: %s\n", path, w.why);
        unlink(o);
        char why[256];
        if (o->block)
            spaceFree(reinterpret_cast<void *>(o->block), Owner::Module, why, sizeof(why), true);
        free(o->copies);
        free(o->path);
        free(o);
        errno = w.error;
        return -1;
    }
    const uintptr_t pageLo = o->lo, pageHi = reinterpret_cast<uintptr_t>(image->page_end);
    if (size && pageLo % kPageBytes == 0 && pageHi % kPageBytes == 0 && pageHi >= o->hi) {
        guardInImage(pageLo, pageHi, false);
        o->guarded = true;
    }
    // The object's own copies of the fast paths' variables (library.cc).
    // (A version 1 object's table had PCPU_MAX_CPUS entries.)
    const unsigned entries = image->version >= 2 ? image->unit_offset_entries : PCPU_MAX_CPUS;
    if (image->unit_offset)
        memcpy(image->unit_offset, pcpu_unit_offset, sizeof(uintptr_t) * std::min(pcpu__nr_units, entries));
    if (image->unit_base)
        *image->unit_base = pcpu__unit_base;
    if (image->unit_shift)
        *image->unit_shift = pcpu__unit_shift;
    if (image->rseq_offset)
        *image->rseq_offset = __atomic_load_n(&pcpu__rseq_offset, __ATOMIC_ACQUIRE);
    if (image->cid_rseq_offset)
        *image->cid_rseq_offset = __atomic_load_n(&pcpu__cid_rseq_offset, __ATOMIC_ACQUIRE);
    if (image->nr_units) // last: it says the others are ready (pcpu_nr_cpus())
        __atomic_store_n(image->nr_units, pcpu__nr_units, __ATOMIC_RELEASE);
    image->block = reinterpret_cast<void *>(o->block);
    registry.count++;
    registry.bytes += size;
    return 0;
}

// From a shared object's start-up object (library.cc).
void pcpu__library_init_failed(const void *where, int ret)
{
    Dl_info info;
    const char *who = dladdr(where, &info) && info.dli_fname ? info.dli_fname : "a shared object";
    fprintf(stderr, "percpu: %s: module_init returned %d; its module_exit will not run\n", who, ret);
}

// From the program's start-up object, in a constructor (see program.cc).
void pcpu__program_running(void)
{
    registry.programStarted.store(true);
    watchExit();
}

// CONTEXT: takes the registry lock.
int pcpu_module_block_name(void *canonical, const char *name)
{
    if (!canonical || !name) {
        errno = EINVAL;
        return -1;
    }
    forgetBlockName(canonical);
    auto *b = static_cast<NamedBlock *>(calloc(1, sizeof(NamedBlock)));
    char *copy = strdup(name);
    if (!b || !copy) {
        free(b);
        free(copy);
        errno = ENOMEM;
        return -1;
    }
    b->canonical = reinterpret_cast<uintptr_t>(canonical);
    b->name = copy;
    LockGuard guard(registry.lock);
    b->next = registry.named;
    registry.named = b;
    return 0;
}

// CONTEXT: takes the registry lock.
void *pcpu_canonical(const void *addr)
{
    const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
    LockGuard guard(registry.lock);
    for (const SharedObject *o = registry.head; o; o = o->next)
        if (inTemplate(*o, a)) {
            for (unsigned i = 0; i < o->nCopies; ++i)
                if (a >= o->copies[i].tlo && a < o->copies[i].thi)
                    return reinterpret_cast<void *>(o->copies[i].copy + (a - o->copies[i].tlo));
            return reinterpret_cast<void *>(o->block + (a - o->lo));
        }
    return const_cast<void *>(addr);
}

// CONTEXT: takes the registry lock and the space lock.
void pcpu__unregister_shared(struct pcpu__image *image)
{
    LockGuard guard(registry.lock);
    SharedObject *o = registry.head;
    while (o && o->image != image)
        o = o->next;
    if (!o)
        return;
    unlink(o);
    if (o->block && !registry.exiting.load(std::memory_order_relaxed)) {
        char why[256];
        if (spaceFree(reinterpret_cast<void *>(o->block), Owner::Module, why, sizeof(why)) != 0)
            fprintf(stderr, "percpu: %s: %s\n", o->path ? o->path : "?", why);
    }
    if (o->guarded)
        unguardInImage(o->lo, reinterpret_cast<uintptr_t>(image->page_end));
    registry.count--;
    registry.bytes -= o->hi - o->lo;
    image->block = nullptr;
    free(o->copies);
    free(o->path);
    free(o);
}

} // extern "C"
