/*
 * GNU indirect functions (STT_GNU_IFUNC), as __attribute__((target_clones))
 * and glibc-style multiversioning produce: a resolver picks the
 * implementation once, at load time. Calls, GOT loads and addresses taken in
 * data must all reach the picked implementation, never the resolver.
 */
#include <stddef.h>

static int resolver_calls;

static int add_one(int x) { return x + 1; }
static int add_two(int x) { return x + 2; }

typedef int (*adder)(int);

/* Picks by a variable the resolver reads: relocated data is in place when
 * resolvers run. */
static int choose_second = 1;
static adder resolve_add(void)
{
    ++resolver_calls;
    return choose_second ? add_two : add_one;
}

int ifunc_add(int x) __attribute__((ifunc("resolve_add")));

adder ifunc_add_ptr = ifunc_add; /* an address taken in data */

int ifunc_resolver_calls(void) { return resolver_calls; }

#if defined(__x86_64__) /* the loader tests run these (AArch64 fixtures are only relocated) */
/* target_clones: the compiler writes the resolver, which asks libgcc's
 * __cpu_indicator_init/__cpu_model which clone the CPU runs best. */
__attribute__((target_clones("avx2", "default"))) int ifunc_clone_sum(const int *a, int n)
{
    int s = 0;
    for (int i = 0; i < n; ++i)
        s += a[i];
    return s;
}

int ifunc_clones_check(void)
{
    int a[64];
    for (int i = 0; i < 64; ++i)
        a[i] = i;
    return ifunc_clone_sum(a, 64) == 2016 ? 0 : 1;
}
#endif

/* 0 when every route reaches add_two. */
int ifunc_check(void)
{
    adder volatile local = ifunc_add; /* an address taken in code */
    if (ifunc_add(40) != 42)
        return 1;
    if (ifunc_add_ptr(40) != 42)
        return 2;
    if (local(40) != 42)
        return 3;
    if (local != ifunc_add_ptr)
        return 4;
    return resolver_calls == 1 ? 0 : 5;
}
