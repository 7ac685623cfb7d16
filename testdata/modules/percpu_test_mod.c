/*
 * The checks of the kernel's lib/percpu_test.c, written anew: mixed-width
 * operands of this_cpu_add/sub on long and unsigned long, the wrap at
 * ULONG_MAX, and 0xffffffff against 0x100000000 results.  As in the
 * kernel, module_init returns -EAGAIN when done, so that the load fails
 * cleanly (and leaves nothing behind); the host counts the checks that ran
 * and those that failed through two exported ints.
 */
#include <percpu/linux.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>

extern int percpu_test_checks;   /* host: EXPORT_SYMBOL */
extern int percpu_test_failures; /* host: EXPORT_SYMBOL */

static DEFINE_PER_CPU(long, long_counter);
static DEFINE_PER_CPU(unsigned long, ulong_counter);

/* `native` is what plain C arithmetic gives; the per-CPU copy must agree. */
#define PT_CHECK(native, pcp, expected)                                        \
    do {                                                                       \
        percpu_test_checks++;                                                  \
        if ((long)(native) != (long)(expected) ||                              \
            (long)__this_cpu_read(pcp) != (long)(expected)) {                  \
            fprintf(stderr, "percpu_test:%d: native %ld, pcp %ld, expected %lld\n", \
                    __LINE__, (long)(native), (long)__this_cpu_read(pcp),      \
                    (long long)(expected));                                    \
            percpu_test_failures++;                                            \
        }                                                                      \
    } while (0)

static int percpu_test_init(void)
{
    /* volatile: keeps the compiler from turning +-ui_one into inc/dec. */
    volatile unsigned int ui_one = 1;
    long l = 0;
    unsigned long ul = 0;

    preempt_disable();

    l += -1;
    __this_cpu_add(long_counter, -1);
    PT_CHECK(l, long_counter, -1);

    l += 1;
    __this_cpu_add(long_counter, 1);
    PT_CHECK(l, long_counter, 0);

    ul = 0;
    __this_cpu_write(ulong_counter, 0);
    ul += 1UL;
    __this_cpu_add(ulong_counter, 1UL);
    PT_CHECK(ul, ulong_counter, 1);

    ul += -1UL;
    __this_cpu_add(ulong_counter, -1UL);
    PT_CHECK(ul, ulong_counter, 0);

    ul += -(unsigned long)1;
    __this_cpu_add(ulong_counter, -(unsigned long)1);
    PT_CHECK(ul, ulong_counter, -1);

    ul = 0;
    __this_cpu_write(ulong_counter, 0);
    ul -= 1;
    __this_cpu_dec(ulong_counter);
    PT_CHECK(ul, ulong_counter, -1);
    PT_CHECK(ul, ulong_counter, ULONG_MAX);

    l += -ui_one;
    __this_cpu_add(long_counter, -ui_one);
    PT_CHECK(l, long_counter, 0xffffffff);

    l += ui_one;
    __this_cpu_add(long_counter, ui_one);
    PT_CHECK(l, long_counter, (long)0x100000000LL);

    l = 0;
    __this_cpu_write(long_counter, 0);
    l -= ui_one;
    __this_cpu_sub(long_counter, ui_one);
    PT_CHECK(l, long_counter, -1);

    l = 0;
    __this_cpu_write(long_counter, 0);
    l += ui_one;
    __this_cpu_add(long_counter, ui_one);
    PT_CHECK(l, long_counter, 1);

    l += -ui_one;
    __this_cpu_add(long_counter, -ui_one);
    PT_CHECK(l, long_counter, (long)0x100000000LL);

    l = 0;
    __this_cpu_write(long_counter, 0);
    l -= ui_one;
    this_cpu_sub(long_counter, ui_one);
    PT_CHECK(l, long_counter, -1);
    PT_CHECK(l, long_counter, ULONG_MAX);

    ul = 0;
    __this_cpu_write(ulong_counter, 0);
    ul += ui_one;
    __this_cpu_add(ulong_counter, ui_one);
    PT_CHECK(ul, ulong_counter, 1);

    ul = 0;
    __this_cpu_write(ulong_counter, 0);
    ul -= ui_one;
    __this_cpu_sub(ulong_counter, ui_one);
    PT_CHECK(ul, ulong_counter, -1);
    PT_CHECK(ul, ulong_counter, ULONG_MAX);

    ul = 3;
    __this_cpu_write(ulong_counter, 3);
    ul = this_cpu_sub_return(ulong_counter, ui_one);
    PT_CHECK(ul, ulong_counter, 2);

    ul = __this_cpu_sub_return(ulong_counter, ui_one);
    PT_CHECK(ul, ulong_counter, 1);

    preempt_enable();

    return -EAGAIN; /* the test is done: refuse the load, as the kernel's does */
}

module_init(percpu_test_init)
