// The program's start-up object: what only the executable can say about
// itself (its per-CPU block and export table, from the percpu.ld fragment's
// symbols), handed to the runtime from .preinit_array, which runs before
// every constructor of the program and of its shared libraries.
//
// libpercpu.a holds it (pulled in by core.cc); with libpercpu.so.0 it is
// linked into the program by percpu_add_host(), as the C library's crt1.o
// is: a shared object cannot have .preinit_array, and its __per_cpu_start
// would name its own block.
#include <percpu/percpu.h>

extern "C" {

// Defined by the percpu.ld fragment.  A link error naming them means the
// program was not linked with it: use percpu_add_host() or -T percpu.ld.
extern char __per_cpu_start[] __attribute__((visibility("hidden")));
extern char __per_cpu_end[] __attribute__((visibility("hidden")));
// Also from the fragment, absent in programs linked with an older one: the
// template's page end and the NOLOAD reservation for chunk 0's canonical
// range (see space.cc).  __ehdr_start and _end come from the linker.
extern char __per_cpu_page_end[] __attribute__((weak, visibility("hidden")));
extern char __per_cpu_canon_start[] __attribute__((weak, visibility("hidden")));
extern char __per_cpu_canon_end[] __attribute__((weak, visibility("hidden")));
extern char __ehdr_start[] __attribute__((weak, visibility("hidden")));
extern char _end[] __attribute__((weak, visibility("hidden")));
// Export table bounds (absent when the program exports nothing).
extern const struct pcpu_export __start_percpu_exports[] __attribute__((weak, visibility("hidden")));
extern const struct pcpu_export __stop_percpu_exports[] __attribute__((weak, visibility("hidden")));

extern __attribute__((visibility("hidden"))) constinit const struct pcpu__image pcpu__program_image = {
    PCPU__IMAGE_VERSION, 0,
    __per_cpu_start, __per_cpu_end, __per_cpu_page_end,
    __per_cpu_canon_start, __per_cpu_canon_end,
    __ehdr_start, _end,
    __start_percpu_exports, __stop_percpu_exports,
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0};

// Weak: a program linked with --as-needed whose code never calls the
// runtime does not keep libpercpu.so.0 for this call alone.
extern void pcpu__start_program(const struct pcpu__image *, char **) __attribute__((weak));

static void pcpu_program_start(int, char **, char **envp)
{
    if (pcpu__start_program)
        pcpu__start_program(&pcpu__program_image, envp);
}

__attribute__((section(".preinit_array"), used)) static void (*pcpu_program_entry)(
    int, char **, char **) = pcpu_program_start;

// A constructor of the program runs after the C library registered the
// dynamic linker's exit-time destructors, so an exit handler registered
// from here runs before them: the runtime then knows that shared objects'
// destructors run because the process exits, not because of dlclose().
extern void pcpu__program_running(void) __attribute__((weak));

__attribute__((constructor)) static void pcpu_program_constructed(void)
{
    if (pcpu__program_running)
        pcpu__program_running();
}

} // extern "C"
