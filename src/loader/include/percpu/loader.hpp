// <percpu/loader.hpp> - the module loader for C++: RAII modules, errors as
// values.
//
//   auto m = percpu::Module::open("plugin.o");
//   if (!m) { std::cerr << m.error() << '\n'; return 1; }
//   auto tick = m->function<int()>("plugin_tick");      // Result<int (*)()>
//   auto calls = m->perCpu<long>("plugin_calls");  // Result<ptr<long>>
//   if (tick && calls) { (*tick)(); std::cout << calls->sum() << '\n'; }
//   // unloaded when `m` goes out of scope (or m->close() to see the error)
//
// Result<T> holds a value or the loader's message, like llvm::Expected but
// without LLVM in the interface: test it, then use * and -> or error().
// Header only, over <percpu/loader.h>.
#ifndef PERCPU_LOADER_HPP
#define PERCPU_LOADER_HPP

#include <percpu/loader.h>
#include <percpu/percpu.hpp>

#include <cassert>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace percpu {

// A value, or why there is none.
template <typename T> class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    static Result failure(std::string message) { return Result(Error{std::move(message)}); }

    explicit operator bool() const { return v_.index() == 0; }
    T &operator*() { return checked(); }
    const T &operator*() const { return checked(); }
    T *operator->() { return &checked(); }
    const T *operator->() const { return &checked(); }
    T &value() { return checked(); }
    // The message (empty when there is a value).
    const std::string &error() const
    {
        static const std::string none;
        return v_.index() == 1 ? std::get<1>(v_).message : none;
    }

private:
    struct Error {
        std::string message;
    };
    explicit Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}
    T &checked()
    {
        assert(*this && "Result used without checking it");
        return std::get<0>(v_);
    }
    const T &checked() const
    {
        assert(*this && "Result used without checking it");
        return std::get<0>(v_);
    }
    std::variant<T, Error> v_;
};

// Success without a value.
struct Done {};

namespace detail {
inline std::string lastLoaderError(const char *fallback)
{
    const char *e = pcpu_dlerror();
    return e ? e : fallback;
}
} // namespace detail

// A loaded module; unloaded (module_exit, destructors) when destroyed.
// Move-only. Unloading a module another one depends on fails: close() says
// so and keeps the module; the destructor then leaves it loaded.
class Module {
public:
    static Result<Module> open(const std::string &path, int flags = 0)
    {
        if (pcpu_module *m = pcpu_dlopen(path.c_str(), flags))
            return Module(m);
        return Result<Module>::failure(detail::lastLoaderError("pcpu_dlopen failed"));
    }
    static Result<Module> openMemory(const void *image, std::size_t size, const std::string &name,
                                     int flags = 0)
    {
        if (pcpu_module *m = pcpu_dlopen_mem(image, size, name.c_str(), flags))
            return Module(m);
        return Result<Module>::failure(detail::lastLoaderError("pcpu_dlopen_mem failed"));
    }

    Module(Module &&o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
    Module &operator=(Module &&o) noexcept
    {
        if (this != &o) {
            reset();
            m_ = std::exchange(o.m_, nullptr);
        }
        return *this;
    }
    Module(const Module &) = delete;
    Module &operator=(const Module &) = delete;
    ~Module() { reset(); }

    // Unloads now. Fails, keeping the module, while another module uses it.
    Result<Done> close()
    {
        if (!m_)
            return Done{};
        if (pcpu_dlclose(m_) != 0)
            return Result<Done>::failure(detail::lastLoaderError("pcpu_dlclose failed"));
        m_ = nullptr;
        return Done{};
    }

    // The address of ELF symbol `name`.
    Result<void *> address(const std::string &name) const
    {
        if (!m_)
            return Result<void *>::failure("module is closed");
        if (void *p = pcpu_dlsym(m_, name.c_str()))
            return p;
        return Result<void *>::failure(detail::lastLoaderError(("no symbol '" + name + "'").c_str()));
    }
    // A function of type F (a function type: `int(int)`); a variable of that
    // name is an error (pcpu_dlfunc), never a pointer to call into data.
    template <typename F> Result<F *> function(const std::string &name) const
    {
        static_assert(std::is_function_v<F>, "function<F>: F is a function type, e.g. int(int)");
        if (!m_)
            return Result<F *>::failure("module is closed");
        if (void *a = pcpu_dlfunc(m_, name.c_str()))
            return reinterpret_cast<F *>(a);
        return Result<F *>::failure(detail::lastLoaderError(("no function '" + name + "'").c_str()));
    }
    // A (non-per-CPU) variable.
    template <typename T> Result<T *> variable(const std::string &name) const
    {
        auto a = address(name);
        if (!a)
            return Result<T *>::failure(a.error());
        return static_cast<T *>(*a);
    }
    // A per-CPU variable (by its C name; the 2006 per_cpu__ spelling also
    // finds it), as a typed per-CPU pointer.
    template <typename T> Result<ptr<T>> perCpu(const std::string &name) const
    {
        auto a = address(name);
        if (!a)
            return Result<ptr<T>>::failure(a.error());
        return ptr<T>(static_cast<T *>(*a));
    }

    Result<pcpu_module_info> info() const
    {
        pcpu_module_info i{};
        if (!m_ || pcpu_module_get_info(m_, &i) != 0)
            return Result<pcpu_module_info>::failure(detail::lastLoaderError("module is closed"));
        return i;
    }

    pcpu_module *handle() const { return m_; }
    // Gives up ownership: the caller closes it with pcpu_dlclose().
    pcpu_module *release() { return std::exchange(m_, nullptr); }

private:
    explicit Module(pcpu_module *m) : m_(m) {}
    void reset()
    {
        // Fails only while another module uses it: then it stays loaded.
        if (m_ && pcpu_dlclose(m_) != 0)
            (void)pcpu_dlerror();
        m_ = nullptr;
    }
    pcpu_module *m_ = nullptr;
};

} // namespace percpu

#endif
