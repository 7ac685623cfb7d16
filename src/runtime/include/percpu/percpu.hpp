// <percpu/percpu.hpp> — a typed C++ layer over <percpu/percpu.h>.
//
//   DEFINE_PER_CPU(long, hits);
//   percpu::ptr<long> h(&hits);          // a canonical pointer, typed
//   h.add(2);                            // this_cpu_add: migration-safe
//   long total = h.sum();                // over every possible CPU
//   long &mine = h.on(3);                // CPU 3's copy: a CPU must be named
//
//   auto counters = percpu::make_unique<std::uint64_t>();  // alloc_percpu
//   counters->inc();                     // owning handle, ptr<T> operations
//   *counters.get();                     // does not compile: name a CPU
//
// percpu::ptr<T> has no dereference operators on purpose: a canonical pointer
// designates the object, only a CPU's copy holds data.
#ifndef PERCPU_PERCPU_HPP
#define PERCPU_PERCPU_HPP

#include <percpu/percpu.h>

#include <cerrno>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace percpu {

// Number of possible CPUs (units).
inline unsigned int nr_cpus() { return pcpu_nr_cpus(); }

// The CPU the calling thread runs on (may be stale on return).
inline unsigned int current_cpu() { return static_cast<unsigned int>(pcpu_current_cpu()); }

template <typename T> class ptr {
public:
    constexpr ptr() = default;
    constexpr explicit ptr(T *canonical) : canonical_(canonical) {}

    // CPU `cpu`'s copy.  Precondition: cpu < nr_cpus().
    T &on(unsigned int cpu) const { return *pcpu_ptr(canonical_, cpu); }
    T *at(unsigned int cpu) const { return pcpu_ptr(canonical_, cpu); }

    // The current CPU's copy; the thread may migrate right after.
    T *this_cpu() const { return pcpu_this_ptr(canonical_); }

    T *canonical() const { return canonical_; }
    explicit operator bool() const { return canonical_ != nullptr; }
    friend bool operator==(ptr a, ptr b) { return a.canonical_ == b.canonical_; }

    // The this_cpu operations: migration-safe, on the current CPU's copy (T: a
    // 1-, 2-, 4- or 8-byte integer, or a pointer for read/write/xchg/cmpxchg).
    void add(T v) const requires std::is_integral_v<T> { pcpu_this_add(canonical_, v); }
    void sub(T v) const requires std::is_integral_v<T> { pcpu_this_sub(canonical_, v); }
    void inc() const requires std::is_integral_v<T> { pcpu_this_inc(canonical_); }
    void dec() const requires std::is_integral_v<T> { pcpu_this_dec(canonical_); }
    T add_return(T v) const requires std::is_integral_v<T>
    {
        return pcpu_this_add_return(canonical_, v);
    }
    T read() const requires std::is_scalar_v<T> { return pcpu_this_read(canonical_); }
    void write(T v) const requires std::is_scalar_v<T> { pcpu_this_write(canonical_, v); }
    T xchg(T v) const requires std::is_scalar_v<T> { return pcpu_this_xchg(canonical_, v); }
    T cmpxchg(T expected, T desired) const requires std::is_scalar_v<T>
    {
        return pcpu_this_cmpxchg(canonical_, expected, desired);
    }

    // Sum over every possible CPU (relaxed loads; concurrent updates may or
    // may not be counted, as with the kernel's per-CPU counters).
    T sum() const requires std::is_arithmetic_v<T>
    {
        T s{};
        for (unsigned int c = 0, n = nr_cpus(); c < n; ++c)
            s += __atomic_load_n(at(c), __ATOMIC_RELAXED);
        return s;
    }

    // Calls f(cpu, T&) for every possible CPU.  (Not named for_each_cpu:
    // that is the kernel's macro in <percpu/linux.h>.)
    template <typename F> void each_cpu(F &&f) const
    {
        for (unsigned int c = 0, n = nr_cpus(); c < n; ++c)
            f(c, on(c));
    }

private:
    T *canonical_ = nullptr;
};

// Owns a pcpu_alloc() object; frees it on destruction.  T must be trivially
// destructible and default-constructible as zero bytes (the memory is zeroed
// on every CPU, no constructor runs).
template <typename T> class unique_ptr {
    static_assert(std::is_trivially_destructible_v<T>,
                  "per-CPU copies are not destroyed one by one");

public:
    unique_ptr() = default;
    explicit unique_ptr(T *canonical) : p_(canonical) {}
    unique_ptr(unique_ptr &&o) noexcept : p_(std::exchange(o.p_, ptr<T>())) {}
    unique_ptr &operator=(unique_ptr &&o) noexcept
    {
        if (this != &o) {
            reset();
            p_ = std::exchange(o.p_, ptr<T>());
        }
        return *this;
    }
    unique_ptr(const unique_ptr &) = delete;
    unique_ptr &operator=(const unique_ptr &) = delete;
    ~unique_ptr() { reset(); }

    void reset()
    {
        if (p_)
            pcpu_free(p_.canonical());
        p_ = ptr<T>();
    }
    T *release() { return std::exchange(p_, ptr<T>()).canonical(); }

    const ptr<T> &get() const { return p_; }
    const ptr<T> *operator->() const { return &p_; }
    explicit operator bool() const { return static_cast<bool>(p_); }

private:
    ptr<T> p_;
};

// Allocates a zeroed T on every CPU; throws std::bad_alloc on failure.
template <typename T> unique_ptr<T> make_unique()
{
    static_assert(alignof(T) <= PCPU_MAX_ALIGN, "alignment above a page");
    void *p = pcpu_alloc(sizeof(T), alignof(T));
    if (!p)
        throw std::bad_alloc();
    return unique_ptr<T>(static_cast<T *>(p));
}

} // namespace percpu

#endif // PERCPU_PERCPU_HPP
