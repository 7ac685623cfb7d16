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
// __per_cpu_start + the alignment the block needs (the fragment's ALIGNOF):
// weak, so that an object linked with an older fragment still links (and
// gets a page-aligned block).
extern char __per_cpu_align_mark[] __attribute__((weak, visibility("hidden")));
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

// This object's copies of what the inline fast paths read (<percpu/percpu.h>
// declares them; these hidden definitions shadow the runtime's for the
// object's own code, whose GOT loads the linker then relaxes to direct
// addresses).  The runtime fills them when the object registers; they do
// not change after start-up.
//
// pcpu__library_unit_offset[] holds the first PCPU_LIBRARY_UNIT_ENTRIES
// entries of pcpu_unit_offset[] (8 KiB), which the object's code compiled
// with PERCPU_SHARED_OBJECT reads; a CPU past them takes the slow path, and
// per_cpu_ptr() reads the runtime's whole table.  (Through the GOT, the fast
// paths would pay a load each that the compiler does not always hoist.)  It
// is file-backed data (percpu-shared.ld puts it right after .data), not
// .bss: past the segment's last page a .bss costs dlopen() an anonymous
// mapping (and dlclose() its unmapping).  As data it costs file size, no
// memory: only the entries of existing CPUs are written, and the first ones
// share the last page of .data, which the dynamic loader's relocations wrote
// already.  It is bounded because every page of it costs a dlopen() too:
// the kernel's fault-around maps the pages near the ones the loader reads,
// and dlclose() unmaps them (the whole 64 KiB table cost 4 us of a small
// plugin's 46 us dlopen()+dlclose() here).
__attribute__((visibility("hidden"), section("percpu_unit_table"))) uintptr_t
    pcpu__library_unit_offset[PCPU_LIBRARY_UNIT_ENTRIES];
// (A link error naming it: code compiled with PERCPU_SHARED_OBJECT, linked
// without this object: use percpu_add_library() or pkg-config's
// percpu-library Libs.)
__attribute__((visibility("hidden"))) uintptr_t pcpu__unit_base;
__attribute__((visibility("hidden"))) unsigned long pcpu__unit_shift;
__attribute__((visibility("hidden"))) unsigned int pcpu__nr_units;
__attribute__((visibility("hidden"))) long pcpu__rseq_offset;
__attribute__((visibility("hidden"))) long pcpu__cid_rseq_offset;

static struct pcpu__image pcpu_library_image = {
    PCPU__IMAGE_VERSION, 0,
    __per_cpu_start, __per_cpu_end, __per_cpu_page_end,
    nullptr, nullptr,
    __ehdr_start, _end,
    __start_percpu_exports, __stop_percpu_exports,
    nullptr,
    pcpu__library_unit_offset, &pcpu__unit_base, &pcpu__unit_shift, &pcpu__nr_units,
    &pcpu__rseq_offset, &pcpu__cid_rseq_offset, PCPU_LIBRARY_UNIT_ENTRIES};

__attribute__((constructor(101), visibility("hidden"))) void pcpu__library_start(void)
{
    if (__per_cpu_align_mark)
        pcpu_library_image.align = static_cast<uint32_t>(__per_cpu_align_mark - __per_cpu_start);
    // The runtime prints why; a library whose per-CPU data has no block
    // cannot run correctly, and returning would let it run with one copy.
    if (pcpu__register_shared(&pcpu_library_image) != 0)
        abort();
}

__attribute__((destructor(101), visibility("hidden"))) void pcpu__library_stop(void)
{
    pcpu__unregister_shared(&pcpu_library_image);
}

// Kernel code compiled into a shared object keeps its module_init() and
// module_exit() (<percpu/module.h>): they run as a pcpu_dlopen()ed module's
// do, module_init after the object's C++ constructors (this object comes
// last in the link, and its constructor has no priority, as theirs), and
// module_exit before its C++ destructors.  A module_init that fails is
// reported; the object stays loaded (a constructor cannot fail dlopen()),
// and its module_exit functions do not run.
typedef int (*pcpu_library_initcall)(void);
typedef void (*pcpu_library_exitcall)(void);
extern const pcpu_library_initcall __start_percpu_module_init[] __attribute__((weak, visibility("hidden")));
extern const pcpu_library_initcall __stop_percpu_module_init[] __attribute__((weak, visibility("hidden")));
extern const pcpu_library_exitcall __start_percpu_module_exit[] __attribute__((weak, visibility("hidden")));
extern const pcpu_library_exitcall __stop_percpu_module_exit[] __attribute__((weak, visibility("hidden")));
// In percpu_tail (percpu-shared.ld): written at start-up, on the page the
// object's .bss starts on.
__attribute__((section("percpu_tail"))) static int pcpu_library_inited;

__attribute__((constructor)) static void pcpu_library_module_init(void)
{
    for (const pcpu_library_initcall *f = __start_percpu_module_init; f && f < __stop_percpu_module_init; ++f)
        if (int r = (*f)()) {
            pcpu__library_init_failed(reinterpret_cast<const void *>(&pcpu_library_module_init), r);
            return;
        }
    pcpu_library_inited = 1;
}

__attribute__((destructor)) static void pcpu_library_module_exit(void)
{
    if (!pcpu_library_inited)
        return;
    for (const pcpu_library_exitcall *f = __stop_percpu_module_exit; f && f > __start_percpu_module_exit;)
        (*--f)();
}

} // extern "C"
