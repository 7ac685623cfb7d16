/*
 * <percpu/local_lock.h> — the kernel's local_lock_t (<linux/local_lock.h>):
 * a lock that protects one CPU's copy of per-CPU data.
 *
 *   struct pcp_stock { local_lock_t lock; long cached; };
 *   static DEFINE_PER_CPU(struct pcp_stock, stock) = {
 *       .lock = INIT_LOCAL_LOCK(lock),
 *   };
 *
 *   local_lock(&stock.lock);
 *   __this_cpu_add(stock.cached, n);     // or any plain access to this_cpu_ptr(&stock)
 *   local_unlock(&stock.lock);
 *
 * The kernel's non-RT local_lock() disables preemption (its RT form takes a
 * per-CPU spinlock after migrate_disable()).  User space can do neither
 * cheaply, so local_lock() holds the CPU with pcpu_get_cpu() (see
 * <percpu/percpu.h>): the thread takes that CPU's lock, and this_cpu_ptr()
 * and this_cpu_* name that CPU until local_unlock() even if the thread is
 * moved meanwhile; no other local_lock()/get_cpu() section runs on that CPU
 * meanwhile.  Uncontended, a section makes no system call.  Plain read-modify-writes of the protected copy are safe
 * against other local_lock() holders; this_cpu_* operations of threads that
 * do not take the lock are not excluded (as with the kernel's RT form).
 * The _irq and _irqsave forms are the same (there are no interrupts to
 * mask); `flags` is set to 0.  Nests like the kernel's (same thread).
 *
 * Valid C11 (gnu11) and C++20.  Included by <percpu/linux.h>.
 */
#ifndef PERCPU_LOCAL_LOCK_H
#define PERCPU_LOCAL_LOCK_H

#include <percpu/percpu.h>

typedef struct {
    /* Nesting depth on this CPU's copy: non-zero while a thread holds it. */
    unsigned int pcpu__depth;
} local_lock_t;

#define INIT_LOCAL_LOCK(lockname) {0}
#define local_lock_init(lock) ((void)(lock))

static inline void pcpu__local_lock(local_lock_t *lock)
{
    int cpu = pcpu_get_cpu();
    pcpu_ptr(lock, cpu)->pcpu__depth++;
}

static inline void pcpu__local_unlock(local_lock_t *lock)
{
    int cpu = __atomic_load_n(&pcpu__thread_held_cpu, __ATOMIC_RELAXED) - 1;
    if (PCPU_UNLIKELY(cpu < 0 || pcpu_ptr(lock, cpu)->pcpu__depth == 0))
        __builtin_trap(); /* local_unlock() of a lock this thread does not hold */
    pcpu_ptr(lock, cpu)->pcpu__depth--;
    pcpu_put_cpu();
}

/* Whether the calling thread holds `lock` on its CPU (lockdep's question). */
static inline int pcpu_local_lock_held(local_lock_t *lock)
{
    int cpu = __atomic_load_n(&pcpu__thread_held_cpu, __ATOMIC_RELAXED) - 1;
    return cpu >= 0 && pcpu_ptr(lock, cpu)->pcpu__depth > 0;
}

#define local_lock(lock) pcpu__local_lock(lock)
#define local_unlock(lock) pcpu__local_unlock(lock)
#define local_lock_irq(lock) pcpu__local_lock(lock)
#define local_unlock_irq(lock) pcpu__local_unlock(lock)
#define local_lock_irqsave(lock, flags)                                        \
    do {                                                                       \
        (flags) = 0;                                                           \
        pcpu__local_lock(lock);                                                \
    } while (0)
#define local_unlock_irqrestore(lock, flags)                                   \
    do {                                                                       \
        (void)(flags);                                                         \
        pcpu__local_unlock(lock);                                              \
    } while (0)
#define local_lock_nested_bh(lock) pcpu__local_lock(lock)
#define local_unlock_nested_bh(lock) pcpu__local_unlock(lock)

#endif /* PERCPU_LOCAL_LOCK_H */
