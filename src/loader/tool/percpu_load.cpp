//===- percpu_load.cpp - a generic host for percpu modules ---------------------===//
//
//   percpu-load [--call SYMBOL]... [--stats] MODULE.o...
//
// Loads the modules in order, calls each `int SYMBOL(void)` in order (looked
// up in any loaded module), prints per-CPU usage by owner with --stats, and
// unloads in reverse order.  Exit status: 0; 1 when a called function returns
// non-zero or is missing; 2 when a module cannot be loaded (with the loader's
// message), a --call names a variable or its function throws, or the usage
// is wrong.  The guard is on (PERCPU_GUARD=0 turns it off).
//===----------------------------------------------------------------------===//
#include <percpu/loader.h>
#include <percpu/percpu.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <exception>

#include <dlfcn.h>
#include <link.h>
#include <string>
#include <vector>

// The guard names the variable when module code dereferences a canonical
// address, instead of a bare "Segmentation fault": on in this host unless
// PERCPU_GUARD=0 (the runtime reads this at start-up).
extern "C" const int pcpu_guard_default = 1;

namespace {

// One line per block, by owner (pcpu_for_each_block): the program, each
// shared object, each module, the dynamic allocations together.
int printBlock(const pcpu_block_info *b, void *arg)
{
    const auto &mods = *static_cast<const std::vector<pcpu_module *> *>(arg);
    std::string label;
    switch (b->owner) {
    case PCPU_BLOCK_PROGRAM: label = std::string("program ") + b->name; break;
    case PCPU_BLOCK_SHARED_OBJECT: label = std::string("shared object ") + b->name; break;
    case PCPU_BLOCK_MODULE: {
        label = std::string("module ") + b->name;
        for (pcpu_module *m : mods) {
            pcpu_module_info info;
            if (pcpu_module_get_info(m, &info) == 0 && info.far && !strcmp(info.name, b->name))
                label += " (far)";
        }
        break;
    }
    case PCPU_BLOCK_DYNAMIC:
        label = "dynamic allocations (" + std::to_string(b->count) + ")";
        break;
    }
    if (b->canonical)
        printf("  %-48s %#14zx %12zu\n", label.c_str(), b->offset, b->size);
    else
        printf("  %-48s %14s %12zu\n", label.c_str(), "-", b->size);
    return 0;
}

void printStats(const std::vector<pcpu_module *> &mods)
{
    pcpu_stats st;
    pcpu_get_stats(&st);
    printf("per-CPU usage (%u units, stride %zu KiB, %u chunk(s), cpu source %s):\n", st.nr_units,
           st.unit_stride >> 10, st.nr_chunks, pcpu_cpu_source_name(st.cpu_source));
    printf("  %-48s %14s %12s\n", "owner", "unit offset", "bytes/unit");
    pcpu_for_each_block(printBlock, const_cast<std::vector<pcpu_module *> *>(&mods));
    printf("  %-48s %14s %12zu\n", "committed per unit", "", st.committed_per_unit);
    printf("  %-48s %14s %12zu\n", "committed, all units", "", st.committed_bytes);
    bool anyTls = false;
    for (pcpu_module *m : mods) {
        pcpu_module_info info{};
        if (pcpu_module_get_info(m, &info) != 0 || !info.tls_bytes)
            continue;
        if (!anyTls)
            printf("thread-local data:\n  %-48s %14s %12s\n", "module", "blocks live", "bytes/thread");
        anyTls = true;
        printf("  %-48s %14zu %12zu\n", info.name, info.tls_blocks, info.tls_bytes);
    }
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app{"percpu-load: load percpu plugin modules (.o) into a host and call their functions", "percpu-load"};
    app.set_version_flag("--version", std::string("percpu-load ") + PERCPU_VERSION);
    std::vector<std::string> modules, calls;
    bool stats = false, noProcess = false, far = false;
    app.add_option("modules", modules, "Relocatable objects to load, in order")->required();
    app.add_option("--call", calls, "Call `int SYMBOL(void)` after loading (repeatable, in order)")
        ->allow_extra_args(false);
    app.add_flag("--stats", stats, "Print per-CPU usage by owner, and each module's thread-local data (bytes per thread, blocks live)");
    app.add_flag("--no-process-symbols", noProcess,
                 "Resolve only against the host's and modules' exports, not libc");
    app.add_flag("--far", far, "Make per-CPU references indirect (PERCPU_FORCE_FAR=1 does the same)");
    std::vector<std::string> libs;
    app.add_option("--lib", libs,
                   "Let modules use this shared library (loaded if needed), as a host that links "
                   "it would (repeatable); by default they see the C and C++ runtime libraries "
                   "only, not the ones percpu-load itself uses (LLVM, zlib, ...)")
        ->allow_extra_args(false);
    bool global = false, deepbind = false;
    app.add_flag("--global", global,
                 "Load each module with PCPU_RTLD_GLOBAL: its global definitions resolve the "
                 "modules loaded after it (third-party libraries split over several modules)");
    app.add_flag("--deepbind", deepbind,
                 "Load each module with PCPU_RTLD_DEEPBIND: GLOBAL modules' definitions win over "
                 "the process's (a library the host also links)");
    app.footer("Example:\n  percpu-load --call counters_run --stats counters.o stats.o\n\n"
               "Exit status: 0 success; 1 a called function returned non-zero or is missing;\n"
               "2 a module could not be loaded, a --call names a variable or its function threw,\n"
               "or bad usage.\n\n"
               "Environment:\n"
               "  PERCPU_NR_CPUS=N     simulate N possible CPUs (at least the real number)\n"
               "  PERCPU_STRIDE=B      unit stride, a power of two from 16K to 1G\n"
               "  PERCPU_RSEQ=0        no rseq: sched_getcpu() and atomic operations\n"
               "  PERCPU_FORCE_FAR=1   load every module the far way (as --far)\n"
               "  PERCPU_COW=0         copy initial images into every unit, not one shared image\n"
               "  PERCPU_GUARD=0       no guard (on in percpu-load: a dereference of a canonical\n"
               "                       address or a shared object's template is explained)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        int r = app.exit(e);
        return r == 0 ? 0 : 2;
    }
    // What a plain C or C++ host links; --lib adds to it.
    std::vector<std::string> scope = {"libc.so",      "libm.so",     "libstdc++.so", "libgcc_s.so",
                                      "ld-linux",     "libpthread.so", "libdl.so",   "librt.so",
                                      "libasan.so",   "libtsan.so",  "libubsan.so",  "liblsan.so",
                                      "libpercpu.so"};
    for (const std::string &lib : libs) {
        void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL);
        if (!h) {
            fprintf(stderr, "percpu-load: error: --lib %s: %s\n", lib.c_str(), dlerror());
            return 2;
        }
        link_map *lm = nullptr;
        if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && *lm->l_name)
            scope.emplace_back(lm->l_name); // the path the dynamic loader found
        scope.push_back(lib);
    }
    std::vector<const char *> scopeNames;
    for (const std::string &e : scope)
        scopeNames.push_back(e.c_str());
    pcpu_loader_set_process_scope(scopeNames.data(), scopeNames.size());
    int flags = (noProcess ? PCPU_RTLD_NO_PROCESS_SYMBOLS : 0) | (far ? PCPU_RTLD_FAR : 0) |
                (global ? PCPU_RTLD_GLOBAL : 0) | (deepbind ? PCPU_RTLD_DEEPBIND : 0);
    std::vector<pcpu_module *> loaded;
    int rc = 0;
    for (const std::string &path : modules) {
        pcpu_module *m = pcpu_dlopen(path.c_str(), flags);
        if (!m) {
            fprintf(stderr, "%s\n", pcpu_dlerror());
            rc = 2;
            break;
        }
        loaded.push_back(m);
    }
    if (rc == 0) {
        for (const std::string &name : calls) {
            pcpu_module *owner = nullptr;
            for (pcpu_module *m : loaded)
                if (pcpu_dlsym(m, name.c_str())) {
                    owner = m;
                    break;
                }
            pcpu_dlerror(); // lookups in other modules may have failed
            if (!owner) {
                fprintf(stderr, "percpu-load: error: no loaded module defines '%s'\n", name.c_str());
                rc = 1;
                break;
            }
            void *fn = pcpu_dlfunc(owner, name.c_str());
            if (!fn) { // a variable: never jump into data
                const char *why = pcpu_dlerror();
                fprintf(stderr, "percpu-load: error: --call %s: %s\n", name.c_str(), why ? why : "not a function");
                rc = 2;
                break;
            }
            int r = 0;
            try {
                r = reinterpret_cast<int (*)()>(fn)();
            } catch (const std::exception &e) {
                fprintf(stderr, "percpu-load: error: %s() threw: %s\n", name.c_str(), e.what());
                rc = 2;
                break;
            } catch (...) {
                fprintf(stderr, "percpu-load: error: %s() threw an exception\n", name.c_str());
                rc = 2;
                break;
            }
            if (r != 0) {
                fprintf(stderr, "percpu-load: error: %s() returned %d\n", name.c_str(), r);
                rc = 1;
                break;
            }
        }
        if (stats)
            printStats(loaded);
    }
    for (auto it = loaded.rbegin(); it != loaded.rend(); ++it)
        if (pcpu_dlclose(*it) != 0) {
            fprintf(stderr, "%s\n", pcpu_dlerror());
            if (!rc)
                rc = 1;
        }
    return rc;
}
