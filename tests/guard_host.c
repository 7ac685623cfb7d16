/*
 * Canonical per-CPU addresses never alias memory (issue: the per-CPU address
 * space).  Built like fragment_host.c with GNU ld and ld.lld, PIE and
 * non-PIE, and run with ASLR on and off (setarch -R):
 *  - pcpu_free() of anything that is not a live allocation (heap, brk heap,
 *    mmap'd heap, stack, .data, .bss, an interior pointer, the host's static
 *    block) is reported and frees nothing, while thousands of allocations
 *    are live (the old layout put the brk heap inside chunk 0's canonical
 *    range, where a malloc() pointer could equal a live allocation);
 *  - a direct dereference of a host static, a chunk-0 dynamic and a
 *    later-chunk dynamic canonical pointer kills the process (SIGSEGV; under
 *    a sanitizer, its report), and with PERCPU_GUARD=1 the guard's message
 *    names the variable or the allocation's call site, and the instruction.
 * Exit status = number of failures.
 */
#define _GNU_SOURCE
#include <percpu/linux.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

DEFINE_PER_CPU(long, guarded_counter) = 7;
DEFINE_PER_CPU(int, guarded_other) = 3;

int ordinary_data = 1;
char ordinary_bss[1 << 16];

static int failures;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "guard: check failed (line %d): %s\n", __LINE__,   \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static size_t live_allocations(void)
{
    struct pcpu_stats st;
    return pcpu_get_stats(&st) == 0 ? st.dynamic_allocations : (size_t)-1;
}

/* pcpu_free(p) must refuse p and leave every allocation alive. */
static void expect_refused(const char *what, void *p)
{
    size_t before = live_allocations();
    errno = 0;
    int r = pcpu_free(p);
    if (r != -1 || errno != EINVAL || live_allocations() != before) {
        fprintf(stderr, "guard: pcpu_free(%s %p) = %d (errno %d), live %zu -> %zu\n", what, p,
                r, errno, before, live_allocations());
        failures++;
    }
}

/* Each of these dereferences a canonical address directly: the bug the
 * guard exists for.  noinline, so that the message can name them. */
__attribute__((noinline)) static void poke_static(void)
{
    *(volatile long *)&guarded_counter += 1;
}
static long *dynamic_target;
__attribute__((noinline)) static void poke_dynamic(void)
{
    *(volatile long *)(dynamic_target + 1) = 42;
}
__attribute__((noinline)) static long *allocate_target(size_t n)
{
    long *p = (long *)__alloc_percpu(n * sizeof(long), 8);
    __asm__ volatile("" : : "r"(p) : "memory"); /* no tail call: the call site stays here */
    return p;
}

/* Runs fn in a child; it must die, and its stderr must hold every string
 * of `want` (when the guard is on). */
static void expect_death(const char *name, void (*fn)(void), const char *const *want)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        failures++;
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        fprintf(stderr, "guard: %s survived\n", name);
        _exit(0);
    }
    close(fds[1]);
    char out[16384];
    size_t len = 0;
    ssize_t k;
    while ((k = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)k;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int died = SANITIZED ? !(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                         : WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
    if (!died) {
        fprintf(stderr, "guard: %s: child status 0x%x, expected death by SIGSEGV\n%s", name,
                status, out);
        failures++;
        return;
    }
    const char *guard = getenv("PERCPU_GUARD");
    if (!guard || strcmp(guard, "1") != 0)
        return;
    for (; *want; want++)
        if (!strstr(out, *want)) {
            fprintf(stderr, "guard: %s: the message lacks \"%s\":\n%s", name, *want, out);
            failures++;
        }
}

int main(void)
{
    int cpu;

    /* Many live allocations, in chunk 0 and beyond. */
    enum { N = 4096 };
    static void *live[N];
    for (int i = 0; i < N; i++) {
        live[i] = __alloc_percpu(64, 8);
        CHECK(live[i] != NULL);
        if (!live[i])
            return failures;
        for_each_possible_cpu(cpu) *(int *)per_cpu_ptr(live[i], cpu) = i;
    }

    /* Foreign pointers of every kind. */
    enum { H = 1024 };
    static void *heap[H];
    for (int i = 0; i < H; i++) {
        heap[i] = malloc(64);
        expect_refused("malloc", heap[i]);
    }
    void *big = malloc(8 << 20);
    expect_refused("big malloc", big);
    int on_stack = 0;
    expect_refused("stack", &on_stack);
    expect_refused("data", &ordinary_data);
    expect_refused("bss", ordinary_bss + 4096);
    expect_refused("interior", (char *)live[N / 2] + 8);
    expect_refused("static per-CPU", &guarded_counter);
    expect_refused("sbrk(0)", sbrk(0));
    for (int i = 0; i < H; i++)
        free(heap[i]);
    free(big);

    /* Nothing was freed: every allocation still holds its values. */
    for (int i = 0; i < N; i++)
        for_each_possible_cpu(cpu) if (*(int *)per_cpu_ptr(live[i], cpu) != i) {
            fprintf(stderr, "guard: allocation %d lost its value on cpu %d\n", i, cpu);
            failures++;
            break;
        }
    CHECK(live_allocations() == N + 0u);

    /* Faults, with the names in the guard's message. */
    const char *const static_want[] = {"`guarded_counter`", "poke_static", NULL};
    expect_death("host static", poke_static, static_want);

    const char *const dyn_want[] = {"pcpu_alloc() object of 32 bytes", "allocate_target",
                                    "poke_dynamic", NULL};
    long *small = allocate_target(4);
    CHECK(small != NULL);
    dynamic_target = small;
    expect_death("dynamic", poke_dynamic, dyn_want);

    /* A large allocation beyond chunk 0's reservation: a later chunk. */
    struct pcpu_stats st;
    pcpu_get_stats(&st);
    long *far = allocate_target(st.unit_stride / 2 / sizeof(long));
    CHECK(far != NULL);
    pcpu_get_stats(&st);
    CHECK(st.nr_chunks >= 2);
    dynamic_target = far;
    const char *const far_want[] = {"pcpu_alloc() object of", "poke_dynamic", NULL};
    expect_death("later chunk", poke_dynamic, far_want);
    expect_refused("later chunk interior", far + 1);
    CHECK(pcpu_free(far) == 0);

    for (int i = 0; i < N; i++)
        CHECK(pcpu_free(live[i]) == 0);
    CHECK(pcpu_free(small) == 0);
    if (!failures)
        printf("guard ok: %u units, %u chunks\n", nr_cpu_ids, st.nr_chunks);
    return failures;
}
