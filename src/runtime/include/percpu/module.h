/*
 * <percpu/module.h> — entry points of a loadable module, kernel-style.
 *
 *   static int my_init(void) { ...; return 0; }   // non-zero fails the load
 *   static void my_exit(void) { ... }
 *   module_init(my_init);
 *   module_exit(my_exit)          // the `;` is optional, as in kernel code
 *
 * The loader runs .init_array (C++ constructors) first, then module_init
 * functions; on unload, module_exit functions, then C++ destructors and
 * .fini_array.  Valid C11 and C++20.
 */
#ifndef PERCPU_MODULE_H
#define PERCPU_MODULE_H

typedef int (*pcpu_initcall_t)(void);
typedef void (*pcpu_exitcall_t)(void);

#define PCPU_MODULE_INIT_SECTION "percpu_module_init"
#define PCPU_MODULE_EXIT_SECTION "percpu_module_exit"

/*
 * Each expands to complete declarations ending with a function definition,
 * so that it stands alone (`module_init(fn)`, kernel style) and tolerates a
 * trailing `;` (an empty declaration: accepted by GCC and Clang, and by
 * C++11; only -pedantic C complains about it).
 */
#ifndef module_init
#define module_init(fn)                                                        \
    static pcpu_initcall_t pcpu__initcall_##fn                                 \
        __attribute__((used, section(PCPU_MODULE_INIT_SECTION))) = (fn);       \
    static inline __attribute__((unused)) void pcpu__initcall_end_##fn(void) {}
#endif
#ifndef module_exit
#define module_exit(fn)                                                        \
    static pcpu_exitcall_t pcpu__exitcall_##fn                                 \
        __attribute__((used, section(PCPU_MODULE_EXIT_SECTION))) = (fn);       \
    static inline __attribute__((unused)) void pcpu__exitcall_end_##fn(void) {}
#endif

#endif /* PERCPU_MODULE_H */
