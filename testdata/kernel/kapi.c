/*
 * Conformance of <percpu/linux.h> with the kernel's per-CPU API, written in
 * the kernel's style: the kernel's own integer types, DEFINE_PER_CPU with
 * array declarators and trailing attributes, the this_cpu_, __this_cpu_ and
 * raw_cpu_ families, pointers, CPU masks, allocation with GFP flags and
 * scope cleanup, get_cpu()/put_cpu(), local_lock_t and percpu_counter.
 *
 * Built as C (gnu11) by gcc and clang and as C++20 (kapi_cxx.cpp includes
 * it), run in a host and as a loaded module (testdata/modules/kapi_module.c
 * includes it), on each CPU source.  Expected values come from the kernel's
 * semantics (C conversion rules, the kernel's documentation), never from
 * this implementation's output.
 *
 *   int kapi_run(void)          single-thread checks; returns the failures
 *   int kapi_run_threads(void)  atomicity with threads migrating between
 *                               CPUs; returns the failures
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <percpu/linux.h>

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The kernel's types, as its own headers spell them. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed long long s64;
typedef pcpu_u128 u128;

#ifdef __cplusplus
#define KAPI_EXTERN_C extern "C"
#else
#define KAPI_EXTERN_C
#endif

static int kapi_failures;
#define KCHECK(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "kapi.c:%d: check failed: %s\n", __LINE__, #cond); \
            kapi_failures++;                                                   \
        }                                                                      \
    } while (0)

/* ---- definitions ---------------------------------------------------------- */

struct kapi_stats {
    long hits;
    u32 hist[4];
};

DEFINE_PER_CPU(char, kapi_buf[64]) __aligned(64);
static DEFINE_PER_CPU(u32, kapi_hist[16]);
static DEFINE_PER_CPU(int, kapi_init5) = 5;
static DEFINE_PER_CPU(int, kapi_arr_init[3]) = {7, 8, 9};
DEFINE_PER_CPU_FIRST(long, kapi_first);
DEFINE_PER_CPU_SHARED_ALIGNED(struct kapi_stats, kapi_shared);
DEFINE_PER_CPU_ALIGNED(u16, kapi_aligned);
DEFINE_PER_CPU_PAGE_ALIGNED(char, kapi_page[100]);
DEFINE_PER_CPU_READ_MOSTLY(u32, kapi_mostly) = 3;
DEFINE_PER_CPU_DECRYPTED(u64, kapi_decrypted);
DEFINE_PER_CPU_CACHE_HOT(int, kapi_hot);
DEFINE_STATIC_PER_CPU(long, kapi_legacy_static);
static DEFINE_PER_CPU(u8, kapi_u8);
static DEFINE_PER_CPU(u16, kapi_u16);
static DEFINE_PER_CPU(u32, kapi_u32);
static DEFINE_PER_CPU(u64, kapi_u64);
static DEFINE_PER_CPU(long, kapi_long);
static DEFINE_PER_CPU(unsigned long, kapi_ulong);
static DEFINE_PER_CPU(int *, kapi_ptr);
static DEFINE_PER_CPU(u128, kapi_u128) __aligned(16);
static DEFINE_PER_CPU(unsigned long, kapi_pair[2]) __aligned(16);
static DEFINE_PER_CPU(struct kapi_stats, kapi_stats_var) ____cacheline_aligned;

/* A declaration in a header, then the definition, as kernel code does. */
DECLARE_PER_CPU(long, kapi_declared);
DEFINE_PER_CPU(long, kapi_declared) = 11;
DECLARE_PER_CPU_SHARED_ALIGNED(struct kapi_stats, kapi_shared);
DECLARE_PER_CPU_READ_MOSTLY(u32, kapi_mostly);

static int kapi_target;

/* ---- single-thread checks -------------------------------------------------- */

static void kapi_definitions(void)
{
    int cpu;
    KCHECK(((uintptr_t)&kapi_buf & 63) == 0);
    KCHECK(sizeof(kapi_buf) == 64 && sizeof(kapi_hist) == 64);
    KCHECK(((uintptr_t)&kapi_shared & (SMP_CACHE_BYTES - 1)) == 0);
    KCHECK(((uintptr_t)&kapi_aligned & (SMP_CACHE_BYTES - 1)) == 0);
    KCHECK(((uintptr_t)&kapi_page & 4095) == 0);
    KCHECK(((uintptr_t)&kapi_stats_var & 63) == 0);
    for_each_possible_cpu(cpu) {
        KCHECK(per_cpu(kapi_init5, cpu) == 5);
        KCHECK(per_cpu(kapi_arr_init, cpu)[0] == 7 && per_cpu(kapi_arr_init, cpu)[2] == 9);
        KCHECK(per_cpu(kapi_mostly, cpu) == 3);
        KCHECK(per_cpu(kapi_declared, cpu) == 11);
        KCHECK(per_cpu(kapi_hist, cpu)[15] == 0);
    }
}

static void kapi_pointers(void)
{
    unsigned int last = nr_cpu_ids - 1;
    /* per_cpu_ptr of &array keeps the array type; of the array, its element. */
    char (*whole)[64] = per_cpu_ptr(&kapi_buf, last);
    char *elem = per_cpu_ptr(kapi_buf, last);
    KCHECK((char *)whole == elem);
    (*whole)[3] = 'x';
    KCHECK(per_cpu(kapi_buf, last)[3] == 'x');
    if (last > 0)
        KCHECK(per_cpu(kapi_buf, 0)[3] == 0);
    u32 *h = per_cpu_ptr(kapi_hist, 0);
    h[5] = 42;
    KCHECK(per_cpu(kapi_hist[5], 0) == 42);
    KCHECK(per_cpu_ptr(&kapi_hist[5], 0) == &h[5]);
    KCHECK((char *)per_cpu_ptr(&kapi_buf, 0) - (char *)&kapi_buf == (long)per_cpu_offset(0));
    KCHECK(per_cpu_offset(last) == __per_cpu_offset[last]);

    /* this_cpu_ptr / raw_cpu_ptr / __this_cpu_ptr on arrays and members. */
    int cpu = get_cpu();
    KCHECK(this_cpu_ptr(&kapi_buf) == per_cpu_ptr(&kapi_buf, cpu));
    KCHECK(raw_cpu_ptr(kapi_hist) == per_cpu_ptr(kapi_hist, cpu));
    KCHECK(__this_cpu_ptr(&kapi_shared.hist[2]) == &per_cpu(kapi_shared, cpu).hist[2]);
    __get_cpu_var(kapi_legacy_static) = 77;
    KCHECK(per_cpu(kapi_legacy_static, cpu) == 77);
    KCHECK(__raw_get_cpu_var(kapi_legacy_static) == 77);
    put_cpu();

    /* __percpu pointers from alloc_percpu, to struct members. */
    struct kapi_stats __percpu *s = alloc_percpu(struct kapi_stats);
    KCHECK(s != NULL);
    if (s) {
        this_cpu_add(s->hits, 2);
        this_cpu_inc(s->hist[1]);
        long hits = 0, h1 = 0;
        for_each_possible_cpu(cpu) {
            hits += per_cpu_ptr(s, cpu)->hits;
            h1 += per_cpu_ptr(&s->hist[1], cpu)[0];
        }
        KCHECK(hits == 2 && h1 == 1);
        free_percpu(s);
    }
    void __percpu *raw = __alloc_percpu(24, 16);
    KCHECK(raw != NULL && ((uintptr_t)raw & 15) == 0);
    if (raw)
        KCHECK(*(char *)per_cpu_ptr(raw, last) == 0);
    free_percpu(raw);
}

/* The conversions of the kernel's macros: the operand is converted to the
 * variable's type, and for sub negated after that. */
static void kapi_conversions(void)
{
    volatile unsigned int ui_one = 1;
    int cpu = get_cpu(); /* every read below is this CPU's copy */

    this_cpu_write(kapi_u64, 5);
    this_cpu_sub(kapi_u64, (unsigned int)1);
    KCHECK(this_cpu_read(kapi_u64) == 4);
    __this_cpu_sub(kapi_u64, ui_one);
    KCHECK(__this_cpu_read(kapi_u64) == 3);
    raw_cpu_sub(kapi_u64, (u8)1);
    KCHECK(raw_cpu_read(kapi_u64) == 2);
    KCHECK(this_cpu_sub_return(kapi_u64, ui_one) == 1);
    KCHECK(__this_cpu_sub_return(kapi_u64, (u16)1) == 0);
    KCHECK(raw_cpu_sub_return(kapi_u64, ui_one) == ~0ULL);
    KCHECK(this_cpu_inc_return(kapi_u64) == 0);
    KCHECK(this_cpu_dec_return(kapi_u64) == ~0ULL);

    this_cpu_write(kapi_long, 0);
    this_cpu_add(kapi_long, -ui_one); /* -ui_one is 0xffffffff, unsigned */
    KCHECK(this_cpu_read(kapi_long) == 0xffffffffL);
    this_cpu_add(kapi_long, ui_one);
    KCHECK(this_cpu_read(kapi_long) == 0x100000000L);
    this_cpu_write(kapi_long, 0);
    this_cpu_sub(kapi_long, ui_one);
    KCHECK(this_cpu_read(kapi_long) == -1L);

    this_cpu_write(kapi_ulong, 0);
    __this_cpu_dec(kapi_ulong);
    KCHECK(this_cpu_read(kapi_ulong) == ~0UL);
    KCHECK(this_cpu_add_return(kapi_ulong, 2UL) == 1UL);

    /* Narrow types wrap in their own width. */
    this_cpu_write(kapi_u8, 0);
    this_cpu_sub(kapi_u8, 1);
    KCHECK(this_cpu_read(kapi_u8) == 0xff);
    this_cpu_add(kapi_u8, 300); /* 300 converted to u8 is 44 */
    KCHECK(this_cpu_read(kapi_u8) == (u8)(0xff + 44));
    this_cpu_write(kapi_u16, 1);
    KCHECK(this_cpu_sub_return(kapi_u16, (unsigned int)2) == 0xffff);
    this_cpu_write(kapi_u32, 0);
    raw_cpu_dec(kapi_u32);
    KCHECK(this_cpu_read(kapi_u32) == 0xffffffffu);
    KCHECK(raw_cpu_add_return(kapi_u32, 1) == 0);
    KCHECK(__this_cpu_inc_return(kapi_u32) == 1 && raw_cpu_inc_return(kapi_u32) == 2);
    KCHECK(__this_cpu_dec_return(kapi_u32) == 1 && raw_cpu_dec_return(kapi_u32) == 0);
    KCHECK(per_cpu(kapi_u32, cpu) == 0);
    put_cpu();
}

static void kapi_exchanges(void)
{
    int cpu = get_cpu();
    /* and / or, all three families and all widths. */
    this_cpu_write(kapi_u32, 0xf0f0);
    this_cpu_and(kapi_u32, 0xff00);
    KCHECK(this_cpu_read(kapi_u32) == 0xf000);
    __this_cpu_or(kapi_u32, 0x000f);
    KCHECK(this_cpu_read(kapi_u32) == 0xf00f);
    raw_cpu_and(kapi_u32, ~0xf000u);
    KCHECK(this_cpu_read(kapi_u32) == 0x000f);
    this_cpu_write(kapi_u8, 0x81);
    this_cpu_or(kapi_u8, 0x10);
    __this_cpu_and(kapi_u8, 0x90);
    KCHECK(this_cpu_read(kapi_u8) == 0x90);
    this_cpu_write(kapi_u64, 1ULL << 40);
    raw_cpu_or(kapi_u64, 1);
    KCHECK(this_cpu_read(kapi_u64) == (1ULL << 40 | 1));

    /* xchg returns the old value. */
    KCHECK(this_cpu_xchg(kapi_u64, 9) == (1ULL << 40 | 1));
    KCHECK(__this_cpu_xchg(kapi_u64, 10) == 9 && raw_cpu_xchg(kapi_u64, 11) == 10);
    this_cpu_write(kapi_ptr, NULL);
    KCHECK(this_cpu_xchg(kapi_ptr, &kapi_target) == NULL);
    KCHECK(this_cpu_read(kapi_ptr) == &kapi_target);

    /* cmpxchg returns the value seen; stores only on a match. */
    KCHECK(this_cpu_cmpxchg(kapi_u64, 11, 12) == 11);
    KCHECK(this_cpu_cmpxchg(kapi_u64, 11, 13) == 12);
    KCHECK(this_cpu_read(kapi_u64) == 12);
    this_cpu_write(kapi_u16, 0);
    KCHECK(__this_cpu_cmpxchg(kapi_u16, 0, 1) == 0 && this_cpu_read(kapi_u16) == 1);
    KCHECK(this_cpu_cmpxchg64(kapi_u64, 12, 1ULL << 63) == 12);
    KCHECK(raw_cpu_cmpxchg64(kapi_u64, 0, 1) == 1ULL << 63);

    /* try_cmpxchg: true and stored, or false and *old updated. */
    u64 old = 5;
    KCHECK(!this_cpu_try_cmpxchg(kapi_u64, &old, 6));
    KCHECK(old == 1ULL << 63);
    KCHECK(__this_cpu_try_cmpxchg(kapi_u64, &old, 6));
    KCHECK(this_cpu_read(kapi_u64) == 6);
    old = 6;
    KCHECK(raw_cpu_try_cmpxchg64(kapi_u64, &old, 7) && this_cpu_read(kapi_u64) == 7);
    old = 0;
    KCHECK(!this_cpu_try_cmpxchg64(kapi_u64, &old, 8) && old == 7);
    u32 o32 = 0;
    this_cpu_write(kapi_u32, 3);
    KCHECK(!raw_cpu_try_cmpxchg(kapi_u32, &o32, 4) && o32 == 3);

    /* 128 bits: both halves compared and stored. */
    u128 big = ((u128)0x0123456789abcdefULL << 64) | 0xfedcba9876543210ULL;
    this_cpu_write(kapi_u64, 0); /* keep the widths apart */
    KCHECK(this_cpu_cmpxchg128(kapi_u128, 0, big) == 0);
    KCHECK(per_cpu(kapi_u128, cpu) == big);
    KCHECK(this_cpu_cmpxchg128(kapi_u128, big + 1, 0) == big);
    KCHECK(per_cpu(kapi_u128, cpu) == big);
    u128 o128 = 0;
    KCHECK(!this_cpu_try_cmpxchg128(kapi_u128, &o128, 1) && o128 == big);
    KCHECK(__this_cpu_try_cmpxchg128(kapi_u128, &o128, (u128)1 << 100));
    KCHECK(raw_cpu_cmpxchg128(kapi_u128, (u128)1 << 100, 5) == (u128)1 << 100);
    KCHECK(raw_cpu_try_cmpxchg128(kapi_u128, &o128, 0) == 0 && o128 == 5);
    KCHECK(__this_cpu_cmpxchg128(kapi_u128, 5, 0) == 5);

    /* cmpxchg_double on two adjacent words. */
    per_cpu(kapi_pair, cpu)[0] = 1;
    per_cpu(kapi_pair, cpu)[1] = 2;
    KCHECK(!this_cpu_cmpxchg_double(kapi_pair[0], kapi_pair[1], 1, 3, 10, 20));
    KCHECK(this_cpu_cmpxchg_double(kapi_pair[0], kapi_pair[1], 1, 2, 10, 20));
    KCHECK(per_cpu(kapi_pair, cpu)[0] == 10 && per_cpu(kapi_pair, cpu)[1] == 20);
    put_cpu();

    /* Every flavour of definition takes the operations. */
    this_cpu_inc(kapi_first);
    this_cpu_add(kapi_shared.hits, 3);
    this_cpu_inc(kapi_shared.hist[3]);
    this_cpu_write(kapi_aligned, 7);
    this_cpu_inc(kapi_page[99]);
    this_cpu_add(kapi_decrypted, 2);
    this_cpu_dec(kapi_hot);
    this_cpu_inc(kapi_hist[15]);
    long first = 0, hits = 0, h3 = 0, pg = 0, hot = 0, hist = 0;
    u64 dec = 0;
    for_each_possible_cpu(cpu) {
        first += per_cpu(kapi_first, cpu);
        hits += per_cpu(kapi_shared, cpu).hits;
        h3 += per_cpu(kapi_shared.hist[3], cpu);
        pg += per_cpu(kapi_page, cpu)[99];
        dec += per_cpu(kapi_decrypted, cpu);
        hot += per_cpu(kapi_hot, cpu);
        hist += per_cpu(kapi_hist[15], cpu);
    }
    KCHECK(first == 1 && hits == 3 && h3 == 1 && pg == 1 && dec == 2 && hot == -1 && hist == 1);
}

static void kapi_cpus(void)
{
    unsigned int n = 0;
    int cpu;
    KCHECK(num_possible_cpus() == nr_cpu_ids);
    KCHECK(num_online_cpus() >= 1 && num_online_cpus() <= nr_cpu_ids);
    KCHECK(num_present_cpus() >= num_online_cpus() && num_present_cpus() <= nr_cpu_ids);
    KCHECK(cpu_possible(nr_cpu_ids - 1) && !cpu_possible(nr_cpu_ids));
    KCHECK(!cpu_online(nr_cpu_ids) && !cpu_present(nr_cpu_ids));
    for_each_present_cpu(cpu) {
        KCHECK(cpu_present(cpu));
        n++;
    }
    KCHECK(n == num_present_cpus());
    n = 0;
    for_each_online_cpu(cpu) {
        KCHECK(cpu_online(cpu) && cpumask_test_cpu(cpu, cpu_online_mask));
        n++;
    }
    KCHECK(n == num_online_cpus());
    KCHECK(cpumask_weight(cpu_possible_mask) == nr_cpu_ids);
    KCHECK(cpumask_test_cpu(smp_processor_id(), cpu_online_mask));
    KCHECK(cpumask_test_cpu(raw_smp_processor_id(), cpu_present_mask));

    cpumask_t m;
    cpumask_clear(&m);
    KCHECK(cpumask_empty(&m) && cpumask_weight(&m) == 0);
    cpumask_set_cpu(0, &m);
    cpumask_set_cpu(nr_cpu_ids - 1, &m);
    KCHECK(cpumask_weight(&m) == (nr_cpu_ids > 1 ? 2u : 1u));
    KCHECK(cpumask_first(&m) == 0);
    KCHECK(cpumask_next(0, &m) == (nr_cpu_ids > 1 ? nr_cpu_ids - 1 : nr_cpu_ids));
    unsigned int seen = 0;
    for_each_cpu(cpu, &m) seen++;
    KCHECK(seen == cpumask_weight(&m));
    cpumask_clear_cpu(0, &m);
    KCHECK(!cpumask_test_cpu(0, &m));
    struct cpumask copy;
    cpumask_copy(&copy, cpu_online_mask);
    KCHECK(cpumask_weight(&copy) == num_online_cpus());
    KCHECK(cpumask_size() == sizeof(cpumask_t));
    cpumask_var_t all;
    KCHECK(zalloc_cpumask_var(&all, GFP_KERNEL));
    KCHECK(cpumask_empty(all));
    cpumask_setall(all);
    KCHECK(cpumask_equal(all, cpu_possible_mask));
    cpumask_t both;
    KCHECK(cpumask_and(&both, all, &copy) && cpumask_equal(&both, cpu_online_mask));
    cpumask_clear(&both);
    cpumask_or(&both, &both, &m);
    KCHECK(cpumask_equal(&both, &m) && cpumask_any(&both) == cpumask_first(&m));
    n = 0;
    for_each_cpu_and(cpu, all, cpu_online_mask) n++;
    KCHECK(n == num_online_cpus());
    free_cpumask_var(all);
}

static void kapi_allocation(void)
{
    struct pcpu_stats before, after;
    pcpu_get_stats(&before);
    {
        u64 __percpu *p __free(free_percpu) = alloc_percpu_gfp(u64, GFP_KERNEL | __GFP_ZERO);
        KCHECK(p != NULL);
        int cpu;
        if (p)
            for_each_possible_cpu(cpu) KCHECK(*per_cpu_ptr(p, cpu) == 0);
        void __percpu *q __free(free_percpu) = __alloc_percpu_gfp(200, 64, GFP_ATOMIC);
        KCHECK(q != NULL && ((uintptr_t)q & 63) == 0);
        pcpu_get_stats(&after);
        KCHECK(after.dynamic_allocations == before.dynamic_allocations + 2);
    }
    pcpu_get_stats(&after); /* both freed by the cleanup */
    KCHECK(after.dynamic_allocations == before.dynamic_allocations);
    {
        int __percpu *kept __free(free_percpu) = alloc_percpu(int);
        int __percpu *mine = no_free_ptr(kept);
        KCHECK(kept == NULL && mine != NULL);
        free_percpu(mine);
    }
    pcpu_get_stats(&after);
    KCHECK(after.dynamic_allocations == before.dynamic_allocations);
}

struct kapi_stock {
    local_lock_t lock;
    long cached;
};
static DEFINE_PER_CPU(struct kapi_stock, kapi_stock) = {INIT_LOCAL_LOCK(lock), 0};

static void kapi_holding(void)
{
    int c = get_cpu();
    KCHECK(smp_processor_id() == c);
    KCHECK(this_cpu_ptr(&kapi_long) == per_cpu_ptr(&kapi_long, c));
    KCHECK(get_cpu() == c); /* nests */
    put_cpu();
    long before = per_cpu(kapi_long, c);
    this_cpu_inc(kapi_long);
    KCHECK(per_cpu(kapi_long, c) == before + 1);
    put_cpu();

    preempt_disable();
    int p = smp_processor_id();
    KCHECK(pcpu_held_cpu() == p);
    preempt_enable();
    KCHECK(pcpu_held_cpu() == -1);

    long *v = &get_cpu_var(kapi_long);
    KCHECK(v == per_cpu_ptr(&kapi_long, smp_processor_id()));
    put_cpu_var(kapi_long);
    struct kapi_stats *sp = get_cpu_ptr(&kapi_stats_var);
    KCHECK(sp == this_cpu_ptr(&kapi_stats_var));
    put_cpu_ptr(&kapi_stats_var);

    unsigned long flags = 1;
    local_lock(&kapi_stock.lock);
    this_cpu_ptr(&kapi_stock)->cached += 5;
    KCHECK(pcpu_local_lock_held(&kapi_stock.lock));
    local_unlock(&kapi_stock.lock);
    KCHECK(!pcpu_local_lock_held(&kapi_stock.lock));
    local_lock_irqsave(&kapi_stock.lock, flags);
    KCHECK(flags == 0);
    this_cpu_ptr(&kapi_stock)->cached -= 5;
    local_unlock_irqrestore(&kapi_stock.lock, flags);
    local_lock_irq(&kapi_stock.lock);
    local_unlock_irq(&kapi_stock.lock);
    long cached = 0;
    int cpu;
    for_each_possible_cpu(cpu) cached += per_cpu(kapi_stock, cpu).cached;
    KCHECK(cached == 0);
}

static void kapi_counter(void)
{
    /* Held: every update below lands on one CPU's delta, so when a fold
     * happens is known. */
    int held = get_cpu();
    struct percpu_counter c;
    KCHECK(percpu_counter_init(&c, 10, GFP_KERNEL) == 0);
    KCHECK(percpu_counter_initialized(&c));
    KCHECK(percpu_counter_read(&c) == 10 && percpu_counter_sum(&c) == 10);
    percpu_counter_inc(&c);
    percpu_counter_add(&c, 5);
    percpu_counter_dec(&c);
    percpu_counter_sub(&c, 2);
    KCHECK(percpu_counter_sum(&c) == 13);
    /* Below the batch nothing reaches the shared count. */
    KCHECK(percpu_counter_read(&c) == 10);
    /* At the batch, the CPU's delta is folded in. */
    percpu_counter_add_batch(&c, 4, 4);
    KCHECK(percpu_counter_sum(&c) == 17);
    KCHECK(percpu_counter_read(&c) == 17);
    KCHECK(percpu_counter_compare(&c, 17) == 0);
    KCHECK(percpu_counter_compare(&c, 16) > 0 && percpu_counter_compare(&c, 1000000) < 0);
    percpu_counter_add(&c, -20);
    KCHECK(percpu_counter_sum(&c) == -3 && percpu_counter_sum_positive(&c) == 0);
    percpu_counter_set(&c, -4);
    KCHECK(percpu_counter_read(&c) == -4 && percpu_counter_read_positive(&c) == 0);
    KCHECK(__percpu_counter_compare(&c, -4, 1) == 0);
    percpu_counter_destroy(&c);
    KCHECK(!percpu_counter_initialized(&c));
    KCHECK(smp_processor_id() == held);
    put_cpu();
}

KAPI_EXTERN_C int kapi_run(void)
{
    kapi_failures = 0;
    kapi_definitions();
    kapi_pointers();
    kapi_conversions();
    kapi_exchanges();
    kapi_cpus();
    kapi_allocation();
    kapi_holding();
    kapi_counter();
    return kapi_failures;
}

/* ---- threads migrating between CPUs -------------------------------------------- */

enum { KAPI_ITERS = 20000, KAPI_MIGRATE_EVERY = 257, KAPI_MAX_THREADS = 64 };

static DEFINE_PER_CPU(u64, kt_inc);
static DEFINE_PER_CPU(u32, kt_addsub);
static DEFINE_PER_CPU(u8, kt_u8);
static DEFINE_PER_CPU(u64, kt_cmpxchg);
static DEFINE_PER_CPU(u32, kt_try);
static DEFINE_PER_CPU(u128, kt_wide) __aligned(16);
static DEFINE_PER_CPU(unsigned long, kt_slot);
static DEFINE_PER_CPU(u64, kt_bits);
static DEFINE_PER_CPU(u64, kt_ret);
static DEFINE_PER_CPU(long, kt_held_plain);
static DEFINE_PER_CPU(long, kt_held_this);
static DEFINE_PER_CPU(struct kapi_stock, kt_stock);

static struct percpu_counter kt_counter;
static int kt_online;
static unsigned long kt_token[KAPI_MAX_THREADS];
static int kt_held_errors[KAPI_MAX_THREADS];

static void kt_migrate(long t, long i)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)((t + i / KAPI_MIGRATE_EVERY) % kt_online), &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
}

static void *kt_worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    unsigned long token = (unsigned long)t + 1;
    u64 bit = 1ULL << (t % 64);
    for (long i = 0; i < KAPI_ITERS; i++) {
        if (i % KAPI_MIGRATE_EVERY == 0)
            kt_migrate(t, i);
        this_cpu_inc(kt_inc);
        this_cpu_add(kt_addsub, 3);
        __this_cpu_sub(kt_addsub, 1);
        raw_cpu_inc(kt_u8);
        u64 o;
        do
            o = this_cpu_read(kt_cmpxchg);
        while (this_cpu_cmpxchg(kt_cmpxchg, o, o + 1) != o);
        u32 o32 = this_cpu_read(kt_try);
        while (!this_cpu_try_cmpxchg(kt_try, &o32, o32 + 2))
            ;
        u128 w = 0;
        while (!this_cpu_try_cmpxchg128(kt_wide, &w, w + (((u128)2 << 64) | 1)))
            ;
        token = this_cpu_xchg(kt_slot, token);
        this_cpu_or(kt_bits, bit);
        this_cpu_and(kt_bits, ~bit);
        (void)this_cpu_add_return(kt_ret, 2);
        percpu_counter_add_batch(&kt_counter, 1, 8);
        if (i % 16 == 0) {
            int c = get_cpu();
            if (smp_processor_id() != c || this_cpu_ptr(&kt_held_this) != per_cpu_ptr(&kt_held_this, c))
                kt_held_errors[t]++;
            long seen = per_cpu(kt_held_this, c);
            this_cpu_inc(kt_held_this); /* must land on c: sections exclude each other there */
            if (per_cpu(kt_held_this, c) != seen + 1)
                kt_held_errors[t]++;
            per_cpu(kt_held_plain, c)++; /* plain: exact among get_cpu() sections */
            put_cpu();
            local_lock(&kt_stock.lock);
            this_cpu_ptr(&kt_stock)->cached++;
            local_unlock(&kt_stock.lock);
        }
    }
    kt_token[t] = token;
    return NULL;
}

KAPI_EXTERN_C int kapi_run_threads(void)
{
    kapi_failures = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    kt_online = ncpu > 0 ? (int)ncpu : 1;
    int nthreads = 2 * kt_online + 1;
    if (nthreads < 5)
        nthreads = 5;
    if (nthreads > KAPI_MAX_THREADS)
        nthreads = KAPI_MAX_THREADS;
    KCHECK(percpu_counter_init(&kt_counter, 0, GFP_KERNEL) == 0);
    pthread_t th[KAPI_MAX_THREADS];
    for (long t = 0; t < nthreads; t++)
        KCHECK(pthread_create(&th[t], NULL, kt_worker, (void *)(intptr_t)t) == 0);
    for (long t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);

    const u64 n = (u64)nthreads * KAPI_ITERS;
    u64 inc = 0, cmp = 0, ret = 0, bits = 0, lo = 0, hi = 0;
    u32 addsub = 0, tr = 0;
    u8 small = 0;
    long held_plain = 0, held_this = 0, stock = 0;
    unsigned long token_sum = 0, token_count = 0, token_xor = 0;
    int cpu;
    for_each_possible_cpu(cpu) {
        inc += per_cpu(kt_inc, cpu);
        addsub += per_cpu(kt_addsub, cpu);
        small = (u8)(small + per_cpu(kt_u8, cpu));
        cmp += per_cpu(kt_cmpxchg, cpu);
        tr += per_cpu(kt_try, cpu);
        lo += (u64)per_cpu(kt_wide, cpu);
        hi += (u64)(per_cpu(kt_wide, cpu) >> 64);
        ret += per_cpu(kt_ret, cpu);
        bits |= per_cpu(kt_bits, cpu);
        held_plain += per_cpu(kt_held_plain, cpu);
        held_this += per_cpu(kt_held_this, cpu);
        stock += per_cpu(kt_stock, cpu).cached;
        unsigned long s = per_cpu(kt_slot, cpu);
        if (s) {
            token_sum += s;
            token_count++;
            token_xor ^= s;
        }
    }
    for (long t = 0; t < nthreads; t++) {
        if (kt_token[t]) {
            token_sum += kt_token[t];
            token_count++;
            token_xor ^= kt_token[t];
        }
        KCHECK(kt_held_errors[t] == 0);
    }
    /* Tokens 1..nthreads: each exchanged, none lost or duplicated. */
    unsigned long want_xor = 0;
    for (long t = 1; t <= nthreads; t++)
        want_xor ^= (unsigned long)t;
    const long held = (long)nthreads * ((KAPI_ITERS + 15) / 16);
    KCHECK(inc == n);
    KCHECK(addsub == (u32)(2 * n));
    KCHECK(small == (u8)n);
    KCHECK(cmp == n);
    KCHECK(tr == (u32)(2 * n));
    KCHECK(lo == n && hi == 2 * n);
    KCHECK(ret == 2 * n);
    KCHECK(bits == 0);
    KCHECK(token_count == (unsigned long)nthreads);
    KCHECK(token_sum == (unsigned long)nthreads * (unsigned long)(nthreads + 1) / 2);
    KCHECK(token_xor == want_xor);
    KCHECK(percpu_counter_sum(&kt_counter) == (s64)n);
    KCHECK(percpu_counter_compare(&kt_counter, (s64)n) == 0);
    KCHECK(held_plain == held && held_this == held && stock == held);
    percpu_counter_destroy(&kt_counter);
    return kapi_failures;
}
