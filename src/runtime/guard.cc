// The guard: a direct dereference of a canonical per-CPU pointer faults
// (space.cc maps no canonical address), and with PERCPU_GUARD=1 the fault
// handler says what was dereferenced before the process dies as the signal
// would:
//
//   percpu: guard: write of 0x55d0c0a1c004, the canonical address of the host
//     per-CPU variable `hits` (+4 of 8 bytes), not a CPU's copy: use per_cpu(),
//     this_cpu_*() or per_cpu_ptr()
//   percpu: guard:   by the instruction at 0x55d0c0a0b1c6 (app+0x21c6, main+0x36)
//
// This is the run-time counterpart of the kernel's sparse `__percpu` check,
// found from the real access.  The handler only looks: a fault that is not
// ours goes to the handler installed before it (or the default action).
// Under AddressSanitizer the image's canonical pages are poisoned instead of
// inaccessible (see space.cc), so ASan reports the access; a death callback
// then adds the same description.
//
// Names: the host's symbol table (read from /proc/self/exe), the module
// loader's describer for modules' variables and code, and, for pcpu_alloc()
// objects, the call site recorded at allocation (only while the guard is on).
// The handler runs in a dying process: it formats with snprintf and reads
// files with plain system calls, takes no lock, and allocates nothing.
#include "runtime.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PCPU_GUARD_DEFAULT
#define PCPU_GUARD_DEFAULT 0
#endif

extern "C" {
void __sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));
void *__asan_get_report_address(void) __attribute__((weak));
}

// A program may choose the guard's default, read at start-up (percpu-load
// turns it on); PERCPU_GUARD still decides when set.
extern "C" const int pcpu_guard_default __attribute__((weak));

namespace percpu::rt {
namespace {

std::atomic<pcpu_module_describer> moduleDescriber{nullptr};
struct sigaction previous[2]; // SIGSEGV, SIGBUS
int guardState = -1;          // -1: not read yet

// The executable's symbol table, mapped once on first use.
struct ExeSymbols {
    const ElfW(Sym) *syms = nullptr;
    size_t count = 0;
    const char *strtab = nullptr;
    size_t strSize = 0;
    uintptr_t bias = 0;
    bool tried = false;
};
ExeSymbols exe;

void loadExeSymbols()
{
    if (exe.tried)
        return;
    exe.tried = true;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(ElfW(Ehdr))))
        map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    const auto *base = static_cast<const unsigned char *>(map);
    const size_t size = static_cast<size_t>(st.st_size);
    const auto *eh = reinterpret_cast<const ElfW(Ehdr) *>(base);
    auto inFile = [&](size_t off, size_t len) { return off <= size && len <= size - off; };
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
        eh->e_phentsize != sizeof(ElfW(Phdr)) ||
        !inFile(eh->e_shoff, size_t{eh->e_shnum} * sizeof(ElfW(Shdr))) ||
        !inFile(eh->e_phoff, size_t{eh->e_phnum} * sizeof(ElfW(Phdr))))
        return;
    // Load bias: where the program headers are now, against their address
    // in the file's layout.
    const auto *ph = reinterpret_cast<const ElfW(Phdr) *>(base + eh->e_phoff);
    uintptr_t phdrVaddr = 0;
    bool found = false;
    for (unsigned i = 0; i < eh->e_phnum && !found; ++i)
        if (ph[i].p_type == PT_LOAD && eh->e_phoff >= ph[i].p_offset &&
            eh->e_phoff < ph[i].p_offset + ph[i].p_filesz) {
            phdrVaddr = ph[i].p_vaddr + (eh->e_phoff - ph[i].p_offset);
            found = true;
        }
    if (!found)
        return;
    exe.bias = getauxval(AT_PHDR) - phdrVaddr;
    const auto *sh = reinterpret_cast<const ElfW(Shdr) *>(base + eh->e_shoff);
    for (unsigned want : {unsigned{SHT_SYMTAB}, unsigned{SHT_DYNSYM}}) {
        for (unsigned i = 0; i < eh->e_shnum; ++i) {
            if (sh[i].sh_type != want || sh[i].sh_link >= eh->e_shnum ||
                sh[i].sh_entsize != sizeof(ElfW(Sym)) || !inFile(sh[i].sh_offset, sh[i].sh_size))
                continue;
            const ElfW(Shdr) &str = sh[sh[i].sh_link];
            if (!inFile(str.sh_offset, str.sh_size))
                continue;
            exe.syms = reinterpret_cast<const ElfW(Sym) *>(base + sh[i].sh_offset);
            exe.count = sh[i].sh_size / sizeof(ElfW(Sym));
            exe.strtab = reinterpret_cast<const char *>(base + str.sh_offset);
            exe.strSize = str.sh_size;
            return;
        }
    }
}

// The executable's symbol holding `a`: its name and start, or nullptr.
const char *exeSymbol(uintptr_t a, uintptr_t &start, size_t &bytes)
{
    loadExeSymbols();
    const ElfW(Sym) *best = nullptr;
    for (size_t i = 0; i < exe.count; ++i) {
        const ElfW(Sym) &s = exe.syms[i];
        unsigned type = ELF64_ST_TYPE(s.st_info);
        if (s.st_shndx == SHN_UNDEF || s.st_name >= exe.strSize ||
            (type != STT_OBJECT && type != STT_FUNC && type != STT_NOTYPE && type != STT_TLS))
            continue;
        if (type == STT_TLS || exe.strtab[s.st_name] == '\0' || exe.strtab[s.st_name] == '$')
            continue;
        uintptr_t v = exe.bias + s.st_value;
        if (a < v || a - v >= (s.st_size ? s.st_size : 1))
            continue;
        // The smallest sized object or function holding a; a sizeless label
        // (__per_cpu_start, a section start) only when nothing else does.
        if (!best || (best->st_size == 0 && s.st_size != 0) ||
            (s.st_size != 0 && s.st_size < best->st_size))
            best = &s;
    }
    if (!best)
        return nullptr;
    start = exe.bias + best->st_value;
    bytes = best->st_size;
    return exe.strtab + best->st_name;
}

// "file+0xoff, func+0xoff" for a code address.
void describeCode(uintptr_t pc, char *buf, size_t len)
{
    pcpu_module_describer md = moduleDescriber.load(std::memory_order_acquire);
    if (md && md(pc, buf, len))
        return;
    Dl_info info{};
    const char *file = "?";
    uintptr_t fbase = 0;
    if (dladdr(reinterpret_cast<void *>(pc), &info) && info.dli_fname) {
        file = info.dli_fname;
        fbase = reinterpret_cast<uintptr_t>(info.dli_fbase);
        if (const char *slash = strrchr(file, '/'))
            file = slash + 1;
    }
    uintptr_t start = 0;
    size_t bytes = 0;
    const char *fn = nullptr;
    if (info.dli_sname) {
        fn = info.dli_sname;
        start = reinterpret_cast<uintptr_t>(info.dli_saddr);
    } else {
        fn = exeSymbol(pc, start, bytes); // the executable's own, not exported
    }
    if (fn)
        snprintf(buf, len, "%s+0x%lx, %s+0x%lx", file, static_cast<unsigned long>(pc - fbase), fn,
                 static_cast<unsigned long>(pc - start));
    else
        snprintf(buf, len, "%s+0x%lx", file, static_cast<unsigned long>(pc - fbase));
}

// What the canonical address `a` is, into buf.  False: not ours.
bool describeAddress(uintptr_t a, char *buf, size_t len)
{
    SpaceBlock b;
    if (!spaceDescribe(a, b))
        return false;
    const unsigned long off = static_cast<unsigned long>(a - b.start);
    if (!b.live) {
        snprintf(buf, len, "per-CPU space that is not allocated (freed, or never handed out)");
        return true;
    }
    switch (b.owner) {
    case Owner::Static: {
        uintptr_t start = 0;
        size_t bytes = 0;
        if (const char *name = exeSymbol(a, start, bytes))
            snprintf(buf, len, "the host per-CPU variable `%s` (+%lu of %zu bytes)", name,
                     static_cast<unsigned long>(a - start), bytes);
        else
            snprintf(buf, len, "the host's static per-CPU block (+0x%lx of %zu bytes)", off,
                     b.bytes);
        return true;
    }
    case Owner::Module: {
        pcpu_module_describer md = moduleDescriber.load(std::memory_order_acquire);
        if (!md || !md(a, buf, len))
            snprintf(buf, len, "a module's per-CPU block (+0x%lx of %zu bytes)", off, b.bytes);
        return true;
    }
    case Owner::Dynamic:
        break;
    }
    int n = snprintf(buf, len, "a pcpu_alloc() object of %zu bytes (+%lu)", b.bytes, off);
    if (b.site && n > 0 && static_cast<size_t>(n) < len) {
        char where[256];
        describeCode(b.site, where, sizeof(where));
        snprintf(buf + n, len - static_cast<size_t>(n), " allocated by the call at 0x%lx (%s)",
                 static_cast<unsigned long>(b.site), where);
    }
    return true;
}

void say(const char *s) { (void)!write(2, s, strlen(s)); }

// The second line of a report: the faulting instruction, when known.
void sayInstruction(uintptr_t pc)
{
    if (!pc)
        return;
    char where[256], line[512];
    describeCode(pc, where, sizeof(where));
    snprintf(line, sizeof(line), "percpu: guard:   by the instruction at 0x%lx (%s)\n",
             static_cast<unsigned long>(pc), where);
    say(line);
}

void report(uintptr_t a, uintptr_t pc, int write)
{
    char what[512], line[1024];
    if (!describeAddress(a, what, sizeof(what)))
        return;
    const char *how = write < 0 ? "access" : write ? "write" : "read";
    snprintf(line, sizeof(line),
             "percpu: guard: %s of 0x%lx, the canonical address of %s, not a CPU's copy: use "
             "per_cpu(), per_cpu_ptr() or this_cpu_*()\n",
             how, static_cast<unsigned long>(a), what);
    say(line);
    sayInstruction(pc);
}

// A shared object's template (its pages fault once the copies are filled):
// reached through an address taken from dlsym() or before the object's
// start-up code ran.
void reportTemplate(uintptr_t a, const char *what, uintptr_t pc, int write)
{
    char line[1024];
    const char *how = write < 0 ? "access" : write ? "write" : "read";
    snprintf(line, sizeof(line),
             "percpu: guard: %s of 0x%lx, in %s, which is not a CPU's copy: dlsym() gives this "
             "address; pcpu_canonical() turns it into the canonical one, for per_cpu_ptr() or "
             "this_cpu_*()\n",
             how, static_cast<unsigned long>(a), what);
    say(line);
    sayInstruction(pc);
}

void onFault(int sig, siginfo_t *si, void *ctx)
{
    const int saved = errno;
    const uintptr_t a = reinterpret_cast<uintptr_t>(si->si_addr);
    const bool ours = spaceContains(si->si_addr);
    struct sigaction &old = previous[sig == SIGBUS];
    char what[512];
    if (ours) {
        const FaultAccess fa = faultAccess(ctx);
        report(a, fa.pc, fa.write);
    } else if (describeSharedTemplate(a, what, sizeof(what))) {
        const FaultAccess fa = faultAccess(ctx);
        reportTemplate(a, what, fa.pc, fa.write);
    }
    if (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN) {
        // Returning re-runs the instruction, which faults again and, with
        // the old action back, ends the process as the signal would.
        sigaction(sig, &old, nullptr);
    } else if (old.sa_flags & SA_SIGINFO) {
        old.sa_sigaction(sig, si, ctx);
    } else {
        old.sa_handler(sig);
    }
    errno = saved;
}

// AddressSanitizer reported the access (poisoned canonical pages): name it.
void onAsanDeath()
{
    if (!__asan_get_report_address)
        return;
    const uintptr_t a = reinterpret_cast<uintptr_t>(__asan_get_report_address());
    char what[512];
    if (spaceContains(reinterpret_cast<void *>(a)))
        report(a, 0, -1);
    else if (describeSharedTemplate(a, what, sizeof(what)))
        reportTemplate(a, what, 0, -1);
}

} // namespace

bool guardEnabled()
{
    if (guardState < 0) {
        const char *e = envGet("PERCPU_GUARD");
        const int byDefault = &pcpu_guard_default ? pcpu_guard_default : PCPU_GUARD_DEFAULT;
        guardState = e && *e ? strcmp(e, "0") != 0 : byDefault;
    }
    return guardState != 0;
}

void guardInit()
{
    if (!guardEnabled())
        return;
    struct sigaction sa{};
    sa.sa_sigaction = onFault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous[0]);
    sigaction(SIGBUS, &sa, &previous[1]);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(onAsanDeath);
}

} // namespace percpu::rt

extern "C" void pcpu_set_module_describer(pcpu_module_describer fn)
{
    percpu::rt::moduleDescriber.store(fn, std::memory_order_release);
}
