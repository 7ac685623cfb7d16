/*
 * <percpu/loader.h> — dlopen-style loading of relocatable .o plugin modules.
 *
 * A module's per-CPU block is placed in the same per-CPU address space as the
 * host's, at an offset valid in every unit, so per_cpu_ptr()/this_cpu_*() is
 * one formula for host, module and dynamic data.  Module symbols resolve
 * against the host's export table (EXPORT_SYMBOL, EXPORT_PER_CPU_SYMBOL),
 * then against loaded modules' exports, then (unless
 * PCPU_RTLD_NO_PROCESS_SYMBOLS) against the process's dynamic symbols (libc).
 *
 * Error policy: functions return NULL or -1; pcpu_dlerror() then describes
 * the failure (file, section+offset, symbol).  A failed load leaves nothing
 * behind.  All functions are MT-safe.
 *
 * Valid C11 and C++20.  x86-64 only for now.
 */
#ifndef PERCPU_LOADER_H
#define PERCPU_LOADER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcpu_module pcpu_module;

/* Flags for pcpu_dlopen()/pcpu_dlopen_mem(). */
#define PCPU_RTLD_NO_PROCESS_SYMBOLS 0x1 /* do not resolve against libc & co. */
#define PCPU_RTLD_FAR 0x2                /* make per-CPU references indirect
                                            (as PERCPU_FORCE_FAR=1 does) */
#define PCPU_RTLD_NOINIT 0x4             /* run no module code: neither
                                            indirect-function resolvers,
                                            constructors/module_init nor, on
                                            close, module_exit/destructors
                                            (inspection, fuzzing; the module's
                                            indirect functions cannot be
                                            called) */

/* Loads the relocatable object at `path`.  RETURNS the module or NULL. */
pcpu_module *pcpu_dlopen(const char *path, int flags);

/* Loads a module from memory; `name` names it in messages (may be NULL).
 * The image is copied: the caller may free it on return. */
pcpu_module *pcpu_dlopen_mem(const void *image, size_t size, const char *name, int flags);

/* The address of ELF symbol `symbol` defined by `m`; for a per-CPU variable,
 * its canonical per-CPU pointer (use with per_cpu_ptr()).  NULL when absent. */
void *pcpu_dlsym(pcpu_module *m, const char *symbol);

/* Runs module_exit/destructors and unloads `m`.  Fails (-1) when another
 * loaded module depends on it; pcpu_dlerror() names the dependent. */
int pcpu_dlclose(pcpu_module *m);

/* The last error of this thread, or NULL; reading it clears it (as dlerror). */
const char *pcpu_dlerror(void);

/* Per-CPU bytes and whether the block was placed far (references made
 * indirect) for a loaded module. */
struct pcpu_module_info {
    const char *name;
    size_t percpu_bytes;
    void *percpu_block; /* canonical address of the block, NULL if none */
    int far;            /* 1 when per-CPU references were made indirect */
    size_t mapped_bytes;
};
int pcpu_module_get_info(const pcpu_module *m, struct pcpu_module_info *info);

/* Loader-wide figures. */
struct pcpu_loader_stats {
    size_t modules;      /* loaded */
    size_t exports;      /* symbols exported by loaded modules */
    size_t mapped_bytes; /* module memory mapped (code, data, GOT, stubs) */
};
int pcpu_loader_get_stats(struct pcpu_loader_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* PERCPU_LOADER_H */
