/*
 * <percpu/loader.h> — dlopen-style loading of relocatable .o plugin modules.
 *
 * A module's per-CPU block is placed in the same per-CPU address space as the
 * host's, at an offset valid in every unit, so per_cpu_ptr()/this_cpu_*() is
 * one formula for host, module and dynamic data.
 *
 * Search order of a module's undefined symbols (the first definition found
 * wins, as in ELF dynamic linking):
 *   1. the host's export table (EXPORT_SYMBOL, EXPORT_PER_CPU_SYMBOL);
 *   2. loaded modules' exports;
 *   3. with PCPU_RTLD_DEEPBIND: every global definition of the modules
 *      loaded with PCPU_RTLD_GLOBAL, in load order;
 *   4. unless PCPU_RTLD_NO_PROCESS_SYMBOLS, the process's dynamic symbols
 *      (libc, and any library the host links);
 *   5. without PCPU_RTLD_DEEPBIND: the PCPU_RTLD_GLOBAL modules' definitions
 *      (after the process, as dlopen's global scope puts the executable and
 *      its libraries before libraries opened later).
 * A module's own definitions bind to themselves, except weak ones: a weak
 * definition yields to an earlier one of steps 1, 2 and the GLOBAL modules
 * (ELF's rule, the first definition in the search order wins; the process is
 * not searched for this, so C++ inline functions stay the module's own).
 * Per-CPU references bind only to per-CPU definitions, and the reverse.
 *
 * Error policy: functions return NULL or -1; pcpu_dlerror() then describes
 * the failure (file, section+offset, symbol).  A failed load leaves nothing
 * behind.  All functions are MT-safe.
 *
 * Valid C11 and C++20.  x86-64 and AArch64.
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
#define PCPU_RTLD_GLOBAL 0x8             /* make every global definition of
                                            the module visible to modules
                                            loaded after it (RTLD_GLOBAL) */
#define PCPU_RTLD_DEEPBIND 0x10          /* resolve against the GLOBAL modules
                                            before the process (RTLD_DEEPBIND):
                                            a library the process also has
                                            (zstd in libLLVM) binds to the
                                            module's copy */
#define PCPU_RTLD_NOINIT 0x4             /* run no module code: neither
                                            indirect-function resolvers,
                                            constructors/module_init nor, on
                                            close, module_exit/destructors
                                            (inspection, fuzzing; the module's
                                            indirect functions cannot be
                                            called) */

/* Loads the relocatable object at `path`.  RETURNS the module or NULL.
 * As dlopen(): a file already loaded (the same file by realpath()) is not
 * loaded again; its module is returned with one more reference, which a
 * pcpu_dlclose() gives back (the last one unloads).  The first open's flags
 * stay in force.  Unknown flag bits fail with EINVAL. */
pcpu_module *pcpu_dlopen(const char *path, int flags);

/* Loads a module from memory; `name` names it in messages (may be NULL).
 * The image is copied: the caller may free it on return. */
pcpu_module *pcpu_dlopen_mem(const void *image, size_t size, const char *name, int flags);

/* The address of ELF symbol `symbol` defined by `m`; for a per-CPU variable,
 * its canonical per-CPU pointer (use with per_cpu_ptr()); for a thread-local
 * variable, its address in the calling thread (as dlsym()).  NULL when
 * absent. */
void *pcpu_dlsym(pcpu_module *m, const char *symbol);

/* The address of function `symbol` defined by `m`: as pcpu_dlsym(), but NULL
 * (pcpu_dlerror() says why) when the symbol is a variable or otherwise not
 * code, so that a caller never jumps into data. */
void *pcpu_dlfunc(pcpu_module *m, const char *symbol);

/* Runs module_exit/destructors and unloads `m`.  Fails (-1) when another
 * loaded module depends on it; pcpu_dlerror() names the dependent.  While a
 * live thread has yet to run one of the module's C++ thread_local
 * destructors, the module's memory stays until the last has run (as
 * dlclose()); its symbols are gone at once. */
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
    size_t tls_bytes;  /* thread-local data: bytes of each thread's block */
    size_t tls_blocks; /* threads' blocks of it live now */
};
int pcpu_module_get_info(const pcpu_module *m, struct pcpu_module_info *info);

/* Loader-wide figures. */
struct pcpu_loader_stats {
    size_t modules;      /* loaded */
    size_t exports;      /* symbols exported by loaded modules */
    size_t mapped_bytes; /* module memory mapped (code, data, GOT, stubs) */
    size_t tls_bytes;    /* thread-local blocks live, all threads and modules */
    size_t tls_blocks;   /* how many */
    size_t closing;      /* unloaded modules kept until their threads run their
                            thread_local destructors */
};
int pcpu_loader_get_stats(struct pcpu_loader_stats *st);

/* The process symbols modules may use.  By default a module's undefined
 * symbol that no host or module export defines resolves anywhere in the
 * process (dlsym(RTLD_DEFAULT)).  A host that links libraries for itself
 * only (a generic loader linked with LLVM, say) names the ones modules may
 * use instead: `objects` are file-name prefixes of loaded objects
 * ("libc.so", "libstdc++.so", or a full path); the program itself is always
 * in scope.  A symbol found only elsewhere is undefined, with the object
 * named.  n = 0 (or objects NULL) restores the default.  RETURNS 0. */
int pcpu_loader_set_process_scope(const char *const *objects, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* PERCPU_LOADER_H */
