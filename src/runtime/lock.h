// A futex lock small enough to be constant-initialised (usable from
// .preinit_array, before any constructor) and cheap when uncontended: one
// compare-exchange to lock, one exchange to unlock.  States: 0 free,
// 1 locked, 2 locked with waiters (Drepper, "Futexes Are Tricky", mutex 2).
#ifndef PERCPU_RUNTIME_LOCK_H
#define PERCPU_RUNTIME_LOCK_H

#include <atomic>
#include <cstdint>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace percpu::rt {

class FutexLock {
public:
    constexpr FutexLock() = default;
    FutexLock(const FutexLock &) = delete;
    FutexLock &operator=(const FutexLock &) = delete;

    void lock()
    {
        uint32_t c = 0;
        if (word_.compare_exchange_strong(c, 1, std::memory_order_acquire))
            return;
        if (c != 2)
            c = word_.exchange(2, std::memory_order_acquire);
        while (c != 0) {
            syscall(SYS_futex, &word_, FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
            c = word_.exchange(2, std::memory_order_acquire);
        }
    }

    bool try_lock()
    {
        uint32_t c = 0;
        return word_.compare_exchange_strong(c, 1, std::memory_order_acquire);
    }

    void unlock()
    {
        if (word_.exchange(0, std::memory_order_release) == 2)
            syscall(SYS_futex, &word_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }

private:
    std::atomic<uint32_t> word_{0};
};

class LockGuard {
public:
    explicit LockGuard(FutexLock &l) : l_(l) { l_.lock(); }
    ~LockGuard() { l_.unlock(); }
    LockGuard(const LockGuard &) = delete;
    LockGuard &operator=(const LockGuard &) = delete;

private:
    FutexLock &l_;
};

} // namespace percpu::rt

#endif
