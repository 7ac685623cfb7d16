//===- passes/Init.cpp - init: constructors, module_init, and their undoing ---- ===//
#include "../Internal.h"

#include <cxxabi.h>
#include <exception>
#include <typeinfo>

namespace percpu::loader {

namespace {
// A type_info name ("St13runtime_error") as C++ spells it.
std::string demangle(const char *name)
{
    int status = 0;
    char *d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    std::string out = status == 0 && d ? d : name;
    free(d);
    return out;
}
} // namespace

// The function pointers a loaded table section holds, in order (the
// sentinels 0 and -1 of crtstuff-style tables skipped).
std::vector<uint64_t> pointersIn(const Module &m, const Section &s)
{
    std::vector<uint64_t> out;
    for (uint64_t off = 0; off + 8 <= s.size; off += 8) {
        uint64_t fn = support::endian::read64le(reinterpret_cast<const void *>(m.blocks[s.index].addr + off));
        if (fn && fn != ~uint64_t{0})
            out.push_back(fn);
    }
    return out;
}

// module_init/module_exit: every section named `name`, in section order.
std::vector<uint64_t> pointersOf(const Module &m, StringRef name)
{
    std::vector<uint64_t> out;
    for (const Section &s : m.obj.sections)
        if (s.index && m.blocks[s.index].addr && s.name == name) {
            std::vector<uint64_t> p = pointersIn(m, s);
            out.insert(out.end(), p.begin(), p.end());
        }
    return out;
}


// .init_array (or .fini_array) as GNU ld builds it for a program: the
// entries of `array`.P and of the older `legacy`.N tables (.ctors/.dtors,
// N = 65535 - P, each section's words reversed) by priority P, then plain
// `array`, then plain `legacy` reversed. A program runs .init_array forward
// and .fini_array backward.
std::vector<uint64_t> arrayOrder(Module &m, StringRef array, StringRef legacy)
{
    struct Part {
        unsigned prio;
        int legacy;
        const Section *s;
    };
    std::vector<Part> parts;
    for (const Section &s : m.obj.sections) {
        if (!s.index || !m.blocks[s.index].addr)
            continue;
        for (int isLegacy : {0, 1}) {
            StringRef n(s.name);
            if (!n.consume_front(isLegacy ? legacy : array))
                continue;
            if (n.empty()) {
                parts.push_back({65536, isLegacy, &s});
            } else if (unsigned v; n.consume_front(".") && !n.getAsInteger(10, v) && v <= 65535) {
                parts.push_back({isLegacy ? 65535 - v : v, isLegacy, &s});
            }
        }
    }
    std::stable_sort(parts.begin(), parts.end(), [](const Part &a, const Part &b) {
        return a.prio != b.prio ? a.prio < b.prio : a.legacy < b.legacy;
    });
    std::vector<uint64_t> out;
    for (const Part &p : parts) {
        std::vector<uint64_t> words = pointersIn(m, *p.s);
        if (p.legacy)
            std::reverse(words.begin(), words.end());
        out.insert(out.end(), words.begin(), words.end());
    }
    return out;
}

// What an exception escaping module code was: its what() for a
// std::exception, else its type's name.  CONTEXT: inside a catch block.
std::string describeCurrentException()
{
    try {
        throw;
    } catch (const std::exception &e) {
        const std::type_info *t = abi::__cxa_current_exception_type();
        return (t ? demangle(t->name()) + ": " : std::string()) + e.what();
    } catch (...) {
        const std::type_info *t = abi::__cxa_current_exception_type();
        return t ? "an exception of type " + demangle(t->name()) : std::string("an exception");
    }
}

// Calls one initialiser; an exception it lets escape is an init-failed error
// (the load is undone, the host goes on).  `what` names it in the message.
template <typename F> Error callInit(Module &m, const char *section, const std::string &what, F &&call)
{
    try {
        call();
        return Error::success();
    } catch (...) {
        return loadError(m.name, section, std::nullopt, "",
                         what + " threw " + describeCurrentException() + "; the module is not loaded",
                         Rule::InitFailed);
    }
}

Error runInit(Module &m)
{
    if (m.flags & PCPU_RTLD_NOINIT)
        return Error::success();
    if (m.ehFrame) {
        __register_frame(reinterpret_cast<void *>(m.ehFrame));
        m.ehRegistered = true;
    }
    // Constructed from the first constructor on: a failure part-way runs the
    // exit handlers the constructors that completed registered.
    m.constructed = true;
    for (uint64_t fn : arrayOrder(m, ".init_array", ".ctors"))
        if (Error e = callInit(m, ".init_array", "a static constructor",
                               [fn] { reinterpret_cast<void (*)()>(fn)(); }))
            return e;
    m.finiArray = arrayOrder(m, ".fini_array", ".dtors");
    m.exitcalls = pointersOf(m, PCPU_MODULE_EXIT_SECTION);
    for (uint64_t fn : pointersOf(m, PCPU_MODULE_INIT_SECTION)) {
        int rc = 0;
        if (Error e = callInit(m, PCPU_MODULE_INIT_SECTION, "a module_init function",
                               [fn, &rc] { rc = reinterpret_cast<int (*)()>(fn)(); }))
            return e;
        if (rc != 0)
            return loadError(m.name, PCPU_MODULE_INIT_SECTION, std::nullopt, "",
                             "module_init function returned " + std::to_string(rc) +
                                 "; the module is not loaded",
                             Rule::InitFailed);
    }
    return Error::success();
}

void runDestructors(Module &m)
{
    if (!m.constructed)
        return;
    if (m.exitHandlers)
        __cxa_finalize(reinterpret_cast<void *>(m.dsoHandle));
    for (auto it = m.finiArray.rbegin(); it != m.finiArray.rend(); ++it)
        reinterpret_cast<void (*)()>(*it)();
    m.constructed = false;
}

Error runInitialisers(Module &m)
{
    Error e = runInit(m);
    if (e)
        runDestructors(m); // what did construct is destroyed before unwinding
    return e;
}

} // namespace percpu::loader
