//===- loader_fuzz.cpp - libFuzzer harness over pcpu_dlopen_mem --------------===//
//
// Any input is loaded without running module code (PCPU_RTLD_NOINIT): it must
// be refused with a message, or load and unload; either way the per-CPU
// allocator and the loader must be back where they were.
//===----------------------------------------------------------------------===//
#include <percpu/loader.h>
#include <percpu/percpu.h>

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pcpu_stats before, after;
    pcpu_get_stats(&before);
    pcpu_module *m = pcpu_dlopen_mem(data, size, "fuzz.o", PCPU_RTLD_NOINIT);
    if (m) {
        if (pcpu_dlclose(m) != 0) {
            fprintf(stderr, "dlclose failed: %s\n", pcpu_dlerror());
            abort();
        }
    } else if (!pcpu_dlerror()) {
        fprintf(stderr, "a failed load left no message\n");
        abort();
    }
    pcpu_get_stats(&after);
    pcpu_loader_stats ls;
    pcpu_loader_get_stats(&ls);
    if (after.module_blocks != before.module_blocks || after.module_bytes != before.module_bytes ||
        ls.modules != 0) {
        fprintf(stderr, "the load left per-CPU space or a module behind\n");
        abort();
    }
    return 0;
}
