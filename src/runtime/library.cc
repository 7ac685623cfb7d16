// A shared object's start-up object, linked into every library and plugin
// built with percpu_add_library() (or `percpu-elfpatch link --shared`).
//
// The percpu-shared.ld fragment gathers the object's per-CPU sections
// between its own hidden __per_cpu_start and __per_cpu_end.  Before any other
// constructor of the object runs (priority 101), the runtime gives the block
// an offset in the one per-CPU space, points every per-CPU address the
// dynamic loader wrote (GOT entries, the indirect slots, data pointers) at
// it, and fills every CPU's copy from the template.  The last destructor
// (also 101: destructors run in the reverse order) gives it back.
#include <percpu/percpu.h>

#include <stdlib.h>

extern "C" {

// A link error naming these means the object was linked without the
// fragment: use percpu_add_library() or -Wl,-T,percpu-shared.ld.
extern char __per_cpu_start[] __attribute__((visibility("hidden")));
extern char __per_cpu_end[] __attribute__((visibility("hidden")));
extern char __per_cpu_page_end[] __attribute__((visibility("hidden")));
extern char __ehdr_start[] __attribute__((weak, visibility("hidden")));
extern char _end[] __attribute__((weak, visibility("hidden")));
extern const struct pcpu_export __start_percpu_exports[] __attribute__((weak, visibility("hidden")));
extern const struct pcpu_export __stop_percpu_exports[] __attribute__((weak, visibility("hidden")));

// What `percpu-elfpatch check` looks for in a shared object: this one was
// linked as a per-CPU shared object (owner "percpu-runtime", type 3; the
// runtime's own copies are types 1 and 2, see shared.cc).
#if defined(__aarch64__)
#define PCPU_NOTE_TYPE "%note"
#else
#define PCPU_NOTE_TYPE "@note"
#endif
__asm__(".pushsection .note.percpu.library, \"aR\", " PCPU_NOTE_TYPE "\n"
        ".balign 4\n"
        ".long 15, 4, 3\n"
        ".asciz \"percpu-runtime\"\n"
        ".balign 4\n"
        ".long 1\n"
        ".popsection\n");

static struct pcpu__image pcpu_library_image = {
    PCPU__IMAGE_VERSION, 0,
    __per_cpu_start, __per_cpu_end, __per_cpu_page_end,
    nullptr, nullptr,
    __ehdr_start, _end,
    __start_percpu_exports, __stop_percpu_exports,
    nullptr};

__attribute__((constructor(101), visibility("hidden"))) void pcpu__library_start(void)
{
    // The runtime prints why; a library whose per-CPU data has no block
    // cannot run correctly, and returning would let it run with one copy.
    if (pcpu__register_shared(&pcpu_library_image) != 0)
        abort();
}

__attribute__((destructor(101), visibility("hidden"))) void pcpu__library_stop(void)
{
    pcpu__unregister_shared(&pcpu_library_image);
}

} // extern "C"
