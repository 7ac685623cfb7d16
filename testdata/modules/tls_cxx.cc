// C++ thread_local objects with constructors and destructors in a module:
// each thread's cache is built at its first use and destroyed when the
// thread exits (__cxa_thread_atexit), even after the module was unloaded.
#include <atomic>
#include <string>

extern "C" int host_tls_destroyed; // the host counts the destructors

namespace {
struct Cache {
    std::string text;
    int hits = 0;
    ~Cache() { __atomic_add_fetch(&host_tls_destroyed, 1, __ATOMIC_RELAXED); }
};
thread_local Cache cache;
} // namespace

extern "C" int cxx_tls_touch(int n)
{
    cache.hits += n;
    cache.text += 'x';
    return cache.hits * 1000 + static_cast<int>(cache.text.size());
}
