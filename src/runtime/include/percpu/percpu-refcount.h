/*
 * <percpu/percpu-refcount.h> — the kernel's percpu_ref
 * (<linux/percpu-refcount.h>): a reference count that costs a per-CPU add
 * while it is live, and becomes one shared atomic count once it is killed,
 * so that the release callback runs exactly once, when the count reaches
 * zero after percpu_ref_kill().
 *
 *   struct percpu_ref ref;
 *   if (percpu_ref_init(&ref, release, 0, GFP_KERNEL)) ...;   // -ENOMEM
 *   if (percpu_ref_tryget_live(&ref)) { ...; percpu_ref_put(&ref); }
 *   percpu_ref_kill(&ref);       // drops the initial reference
 *   ...                          // release(&ref) runs when the last put does
 *   percpu_ref_exit(&ref);
 *
 * Modes.  In per-CPU mode get/put add to this CPU's count (an rseq critical
 * section that also reads the mode: pcpu_arch_ref_add); the shared count
 * holds a bias that keeps it from reaching zero.  Switching to atomic mode
 * (percpu_ref_kill, percpu_ref_switch_to_atomic) sets the mode flag, then
 * waits where the kernel waits for an RCU-sched grace period:
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) restarts every critical
 * section that read the flag clear and has not committed; the per-CPU
 * counts are then added to the shared count and the bias removed.  Without
 * rseq (the sched_getcpu CPU source, PERCPU_RSEQ=0) or without that
 * membarrier command, every operation uses the shared count: slower,
 * equally exact.
 *
 * Differences from the kernel: switches are synchronous (confirm callbacks
 * run before percpu_ref_kill_and_confirm() / _switch_to_atomic() return);
 * `gfp` is ignored.  Mode changes are serialised by one lock, as the
 * kernel's percpu_ref_switch_lock does.
 *
 * Valid C11 (gnu11) and C++20.  Included by <percpu/linux.h>.
 */
#ifndef PERCPU_PERCPU_REFCOUNT_H
#define PERCPU_PERCPU_REFCOUNT_H

#include <percpu/percpu.h>

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct percpu_ref;
typedef void(percpu_ref_func_t)(struct percpu_ref *);

/* Flags in the low bits of percpu_count_ptr. */
enum {
    __PERCPU_REF_ATOMIC = 1LU << 0,
    __PERCPU_REF_DEAD = 1LU << 1,
    __PERCPU_REF_ATOMIC_DEAD = __PERCPU_REF_ATOMIC | __PERCPU_REF_DEAD,
    __PERCPU_REF_FLAG_BITS = 2,
};

/* percpu_ref_init() flags. */
enum {
    PERCPU_REF_INIT_ATOMIC = 1 << 0, /* start in atomic mode */
    PERCPU_REF_INIT_DEAD = 1 << 1,   /* start dead (atomic, count 0); implies ALLOW_REINIT */
    PERCPU_REF_ALLOW_REINIT = 1 << 2,/* may switch back to per-CPU mode after kill */
};

struct percpu_ref_data {
    long count; /* atomic; in per-CPU mode, biased */
    percpu_ref_func_t *release;
    percpu_ref_func_t *confirm_switch;
    bool force_atomic;
    bool allow_reinit;
    struct percpu_ref *ref;
};

struct percpu_ref {
    /* Canonical per-CPU unsigned long | __PERCPU_REF_* flags. */
    unsigned long percpu_count_ptr;
    struct percpu_ref_data *data;
};

int percpu_ref_init(struct percpu_ref *ref, percpu_ref_func_t *release, unsigned int flags,
                    unsigned int gfp);
void percpu_ref_exit(struct percpu_ref *ref);
void percpu_ref_switch_to_atomic(struct percpu_ref *ref, percpu_ref_func_t *confirm_switch);
void percpu_ref_switch_to_atomic_sync(struct percpu_ref *ref);
void percpu_ref_switch_to_percpu(struct percpu_ref *ref);
void percpu_ref_kill_and_confirm(struct percpu_ref *ref, percpu_ref_func_t *confirm_kill);
void percpu_ref_resurrect(struct percpu_ref *ref);
void percpu_ref_reinit(struct percpu_ref *ref);
bool percpu_ref_is_zero(struct percpu_ref *ref);
/* The shared-count path of get/put (atomic mode, or no rseq). */
void pcpu__ref_put_slow(struct percpu_ref *ref, unsigned long nr);

static inline void percpu_ref_kill(struct percpu_ref *ref)
{
    percpu_ref_kill_and_confirm(ref, NULL);
}

static inline bool percpu_ref_is_dying(struct percpu_ref *ref)
{
    return __atomic_load_n(&ref->percpu_count_ptr, __ATOMIC_ACQUIRE) & __PERCPU_REF_DEAD;
}

static inline void percpu_ref_get_many(struct percpu_ref *ref, unsigned long nr)
{
    if (pcpu_arch_ref_add(&ref->percpu_count_ptr, nr))
        __atomic_fetch_add(&ref->data->count, (long)nr, __ATOMIC_RELAXED);
}

static inline void percpu_ref_get(struct percpu_ref *ref)
{
    percpu_ref_get_many(ref, 1);
}

/* Adds nr unless the shared count is zero (atomic mode). */
static inline bool pcpu__ref_add_unless_zero(struct percpu_ref *ref, unsigned long nr)
{
    long c = __atomic_load_n(&ref->data->count, __ATOMIC_RELAXED);
    do {
        if (c == 0)
            return false;
    } while (!__atomic_compare_exchange_n(&ref->data->count, &c, c + (long)nr, true,
                                          __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
    return true;
}

static inline bool percpu_ref_tryget_many(struct percpu_ref *ref, unsigned long nr)
{
    if (!pcpu_arch_ref_add(&ref->percpu_count_ptr, nr))
        return true;
    return pcpu__ref_add_unless_zero(ref, nr);
}

static inline bool percpu_ref_tryget(struct percpu_ref *ref)
{
    return percpu_ref_tryget_many(ref, 1);
}

/* A reference unless the ref is dying (killed, possibly not confirmed). */
static inline bool percpu_ref_tryget_live(struct percpu_ref *ref)
{
    if (!pcpu_arch_ref_add(&ref->percpu_count_ptr, 1))
        return true;
    if (percpu_ref_is_dying(ref))
        return false;
    return pcpu__ref_add_unless_zero(ref, 1);
}

static inline bool percpu_ref_tryget_live_rcu(struct percpu_ref *ref)
{
    return percpu_ref_tryget_live(ref);
}

static inline void percpu_ref_put_many(struct percpu_ref *ref, unsigned long nr)
{
    if (pcpu_arch_ref_add(&ref->percpu_count_ptr, -nr))
        pcpu__ref_put_slow(ref, nr);
}

static inline void percpu_ref_put(struct percpu_ref *ref)
{
    percpu_ref_put_many(ref, 1);
}

#ifdef __cplusplus
}
#endif

#endif /* PERCPU_PERCPU_REFCOUNT_H */
