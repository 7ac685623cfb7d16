/*
 * <percpu/linux.h> — the Linux kernel's per-CPU API spelled as in the kernel,
 * on top of <percpu/percpu.h>, so that per-CPU code written for the kernel
 * compiles unchanged in user space.
 *
 *   DEFINE_PER_CPU(long, hits);            // symbol per_cpu__hits
 *   this_cpu_inc(hits);
 *   long total = 0; int cpu;
 *   for_each_possible_cpu(cpu) total += per_cpu(hits, cpu);
 *
 * Differences from the kernel, all forced by user space:
 *  - this_cpu_ptr()/smp_processor_id() answers can be stale on return (no
 *    preemption control); this_cpu_* operations are still migration-safe.
 *  - get_cpu_var()/get_cpu_ptr() lock the chosen CPU against other
 *    get_cpu_var()/get_cpu_ptr() users instead of disabling preemption (see
 *    pcpu_get_cpu()).
 *  - free_percpu() of something that is not a live allocation is reported on
 *    stderr and otherwise ignored (the kernel WARNs).
 *  - C++: per-CPU variables must be constant-initialised (they are copied
 *    into the units before constructors run; a constructor would only change
 *    the canonical template).
 *
 * Valid C11 and C++20.
 */
#ifndef PERCPU_LINUX_H
#define PERCPU_LINUX_H

#include <percpu/module.h>
#include <percpu/percpu.h>

/* ---- Definitions and declarations -------------------------------------- */

#define DEFINE_PER_CPU_SECTION(type, name, sec) PCPU_DEFINE_SECTION(type, name, sec)
#define DECLARE_PER_CPU_SECTION(type, name, sec) PCPU_DECLARE_SECTION(type, name, sec)

#define DEFINE_PER_CPU(type, name) DEFINE_PER_CPU_SECTION(type, name, "")
#define DECLARE_PER_CPU(type, name) DECLARE_PER_CPU_SECTION(type, name, "")

#define DEFINE_PER_CPU_FIRST(type, name) DEFINE_PER_CPU_SECTION(type, name, "..first")
#define DECLARE_PER_CPU_FIRST(type, name) DECLARE_PER_CPU_SECTION(type, name, "..first")

#define DEFINE_PER_CPU_SHARED_ALIGNED(type, name)                              \
    DEFINE_PER_CPU_SECTION(type, name, "..shared_aligned")                     \
    __attribute__((aligned(PCPU_CACHELINE_BYTES)))
#define DECLARE_PER_CPU_SHARED_ALIGNED(type, name)                             \
    DECLARE_PER_CPU_SECTION(type, name, "..shared_aligned")                    \
    __attribute__((aligned(PCPU_CACHELINE_BYTES)))

/* As in the kernel on SMP: _ALIGNED uses the shared_aligned section. */
#define DEFINE_PER_CPU_ALIGNED(type, name)                                     \
    DEFINE_PER_CPU_SECTION(type, name, "..shared_aligned")                     \
    __attribute__((aligned(PCPU_CACHELINE_BYTES)))
#define DECLARE_PER_CPU_ALIGNED(type, name)                                    \
    DECLARE_PER_CPU_SECTION(type, name, "..shared_aligned")                    \
    __attribute__((aligned(PCPU_CACHELINE_BYTES)))

#define DEFINE_PER_CPU_PAGE_ALIGNED(type, name)                                \
    DEFINE_PER_CPU_SECTION(type, name, "..page_aligned")                       \
    __attribute__((aligned(PCPU_PAGE_BYTES)))
#define DECLARE_PER_CPU_PAGE_ALIGNED(type, name)                               \
    DECLARE_PER_CPU_SECTION(type, name, "..page_aligned")                      \
    __attribute__((aligned(PCPU_PAGE_BYTES)))

#define DEFINE_PER_CPU_READ_MOSTLY(type, name)                                 \
    DEFINE_PER_CPU_SECTION(type, name, "..read_mostly")
#define DECLARE_PER_CPU_READ_MOSTLY(type, name)                                \
    DECLARE_PER_CPU_SECTION(type, name, "..read_mostly")

#define EXPORT_SYMBOL(sym) PCPU_EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym) PCPU_EXPORT_SYMBOL_GPL(sym)
#define EXPORT_PER_CPU_SYMBOL(var) PCPU_EXPORT_PER_CPU_SYMBOL(var)
#define EXPORT_PER_CPU_SYMBOL_GPL(var) PCPU_EXPORT_PER_CPU_SYMBOL_GPL(var)

/* ---- CPUs -------------------------------------------------------------------- */

#define nr_cpu_ids (pcpu_nr_cpus())
#define num_possible_cpus() (pcpu_nr_cpus())
#define smp_processor_id() (pcpu_current_cpu())
#define raw_smp_processor_id() (pcpu_current_cpu())
#define cpu_online(cpu) (pcpu_cpu_online(cpu))

#define for_each_possible_cpu(cpu)                                             \
    for ((cpu) = 0; (unsigned int)(cpu) < pcpu_nr_cpus(); (cpu)++)
#define for_each_online_cpu(cpu)                                               \
    for ((cpu) = (__typeof__(cpu))pcpu_next_online_cpu(-1);                    \
         (unsigned int)(cpu) < pcpu_nr_cpus();                                 \
         (cpu) = (__typeof__(cpu))pcpu_next_online_cpu((int)(cpu)))

/* ---- Addresses ------------------------------------------------------------------ */

#define __per_cpu_offset pcpu_unit_offset
#define per_cpu_offset(cpu) (pcpu_unit_offset[(cpu)])
#define per_cpu_ptr(ptr, cpu) pcpu_ptr((ptr), (cpu))
#define per_cpu(var, cpu) (*per_cpu_ptr(&(var), (cpu)))
#define this_cpu_ptr(ptr) pcpu_this_ptr(ptr)
#define raw_cpu_ptr(ptr) pcpu_this_ptr(ptr)
#define get_cpu_ptr(ptr) pcpu_ptr((ptr), pcpu_get_cpu())
#define put_cpu_ptr(ptr) ((void)(ptr), pcpu_put_cpu())
#define get_cpu_var(var) (*get_cpu_ptr(&(var)))
#define put_cpu_var(var) put_cpu_ptr(&(var))
#define get_cpu() (pcpu_get_cpu())
#define put_cpu() (pcpu_put_cpu())

/* ---- this_cpu operations (pcp is the per-CPU lvalue) -------------------------- */

#define this_cpu_read(pcp) pcpu_this_read(&(pcp))
#define this_cpu_write(pcp, val) pcpu_this_write(&(pcp), (val))
#define this_cpu_add(pcp, val) pcpu_this_add(&(pcp), (val))
#define this_cpu_sub(pcp, val) pcpu_this_sub(&(pcp), (val))
#define this_cpu_inc(pcp) pcpu_this_inc(&(pcp))
#define this_cpu_dec(pcp) pcpu_this_dec(&(pcp))
#define this_cpu_add_return(pcp, val) pcpu_this_add_return(&(pcp), (val))
#define this_cpu_sub_return(pcp, val) pcpu_this_add_return(&(pcp), -(val))
#define this_cpu_inc_return(pcp) pcpu_this_add_return(&(pcp), 1)
#define this_cpu_dec_return(pcp) pcpu_this_add_return(&(pcp), -1)
#define this_cpu_xchg(pcp, val) pcpu_this_xchg(&(pcp), (val))
#define this_cpu_cmpxchg(pcp, oval, nval) pcpu_this_cmpxchg(&(pcp), (oval), (nval))

/* The raw_ and __this_cpu_ forms are the same operations here: user space has
 * no cheaper unprotected variant worth the risk. */
#define raw_cpu_read this_cpu_read
#define raw_cpu_write this_cpu_write
#define raw_cpu_add this_cpu_add
#define raw_cpu_inc this_cpu_inc
#define raw_cpu_dec this_cpu_dec
#define __this_cpu_read this_cpu_read
#define __this_cpu_write this_cpu_write
#define __this_cpu_add this_cpu_add
#define __this_cpu_sub this_cpu_sub
#define __this_cpu_inc this_cpu_inc
#define __this_cpu_dec this_cpu_dec

/* ---- Dynamic per-CPU memory -------------------------------------------------------- */

#define __alloc_percpu(size, align) pcpu_alloc((size), (align))
#define alloc_percpu(type)                                                     \
    ((__typeof__(type) *)pcpu_alloc(sizeof(type), __alignof__(type)))
#define free_percpu(ptr) ((void)pcpu_free((void *)(ptr)))

#endif /* PERCPU_LINUX_H */
