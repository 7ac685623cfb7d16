/*
 * Kernel-style per-CPU definitions and accessors for the kernel-module
 * fixtures, written anew after the shape of the kernel's
 * include/linux/percpu-defs.h and arch/x86/include/asm/percpu.h (x86-64:
 * %gs-relative operands) and arch/arm64/include/asm/percpu.h (arm64: the
 * canonical address plus tpidr_el1).  Not the project's <percpu/linux.h>:
 * these objects follow the kernel's model, which is what `check --abi kernel`
 * is about.
 */
#ifndef KSTYLE_H
#define KSTYLE_H

#define KDEFINE_PER_CPU(type, name) __attribute__((section(".data..percpu"))) __typeof__(type) name
#define KDECLARE_PER_CPU(type, name) extern __attribute__((section(".data..percpu"))) __typeof__(type) name

/* EXPORT_SYMBOL / EXPORT_PER_CPU_SYMBOL: a __ksymtab entry holding
 * PC-relative 32-bit references to the symbol and its name, as the kernel
 * has since 4.19 (CONFIG_HAVE_ARCH_PREL32_RELOCATIONS). */
#define KEXPORT(sym)                                                           \
    __asm__(".pushsection \"__ksymtab_strings\", \"aMS\", %progbits, 1\n"      \
            "__kstrtab_" #sym ": .asciz \"" #sym "\"\n"                        \
            ".popsection\n"                                                    \
            ".pushsection \"___ksymtab+" #sym "\", \"a\"\n"                    \
            ".balign 4\n"                                                      \
            "__ksymtab_" #sym ": .long " #sym " - .\n"                         \
            ".long __kstrtab_" #sym " - .\n"                                   \
            ".long 0\n"                                                        \
            ".popsection\n")

#define KMODINFO(tag, value)                                                   \
    static const char __modinfo_##tag[] __attribute__((used, section(".modinfo"), aligned(1))) = \
        #tag "=" value

#if defined(__x86_64__)
/* The kernel's percpu_to_op / percpu_from_op: the %gs segment makes the
 * operand this CPU's copy. */
#define this_cpu_read_8(var)                                                   \
    __extension__({                                                            \
        unsigned long ks_v;                                                    \
        __asm__ __volatile__("movq %%gs:%1, %0" : "=r"(ks_v) : "m"(var));     \
        ks_v;                                                                  \
    })
#define this_cpu_inc_8(var) __asm__ __volatile__("incq %%gs:%0" : "+m"(var))
#define this_cpu_add_8(var, v) __asm__ __volatile__("addq %1, %%gs:%0" : "+m"(var) : "re"((long)(v)))
/* this_cpu_ptr: `mov $var, %reg` (R_X86_64_32S) plus this_cpu_off. */
KDECLARE_PER_CPU(unsigned long, this_cpu_off);
#define this_cpu_ptr(ptr)                                                      \
    __extension__({                                                            \
        unsigned long ks_p;                                                    \
        __asm__("movq %1, %0\n\taddq %%gs:%2, %0" : "=r"(ks_p) : "i"(ptr), "m"(this_cpu_off)); \
        (__typeof__(ptr))ks_p;                                                 \
    })
#elif defined(__aarch64__)
static inline unsigned long ks_cpu_offset(void)
{
    unsigned long off;
    __asm__ __volatile__("mrs %0, tpidr_el1" : "=r"(off));
    return off;
}
/* The canonical address (adrp + add) plus this CPU's offset. */
#define this_cpu_ptr(ptr) ((__typeof__(ptr))((unsigned long)(ptr) + ks_cpu_offset()))
#define this_cpu_read_8(var) (*this_cpu_ptr(&(var)))
#define this_cpu_inc_8(var) ((*this_cpu_ptr(&(var)))++)
#define this_cpu_add_8(var, v) ((*this_cpu_ptr(&(var))) += (v))
#else
#error "kernel-style fixtures are for x86-64 and arm64"
#endif

#endif
