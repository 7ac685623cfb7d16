// The this_cpu_* rseq sequences of <percpu/arch/*.h>, white-box, on a
// simulated rseq area: the test points pcpu__rseq_offset (the process's
// offset) and pcpu__thread_rseq_offset (the thread's) at an area of its
// own and writes the CPU number there itself, as the kernel would.  This
// runs where the kernel gives no rseq (qemu-user: the syscall is ENOSYS) and
// natively alike, because the kernel never looks at this area.
//
// - Every operation at every width (8, 16, 32, 64 bits; 128-bit
//   compare-and-exchange) changes the copy of the CPU the area names, and
//   only that copy, with the operation's result, and leaves rseq_cs disarmed.
// - An area that says "not registered" (cpu_id with bit 31 set) makes every
//   operation return 1 and write nothing.
// - The abort path: the CPU's copy is made read-only, so the commit store
//   faults inside the critical section; the SIGSEGV handler does what the
//   kernel does on preemption (the PC is within [start_ip, start_ip +
//   post_commit_offset) of the armed descriptor: check the signature before
//   abort_ip, clear rseq_cs, resume at abort_ip) and, as a migration would,
//   changes the area's CPU number.  The operation must restart and apply
//   exactly once, to the new CPU's copy.
#include <percpu/percpu.h>

#include "rseq_sim_library.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace {

struct alignas(32) RseqArea {
    uint32_t cpu_id_start;
    uint32_t cpu_id;
    uint64_t rseq_cs;
    uint32_t flags;
    uint32_t node_id;
    uint32_t mm_cid;
    char pad[12];
};
static_assert(offsetof(RseqArea, cpu_id) == PCPU_RSEQ_CPU_ID_OFFSET);
static_assert(offsetof(RseqArea, rseq_cs) == PCPU_RSEQ_CS_OFFSET);

struct RseqCs {
    uint32_t version, flags;
    uint64_t start_ip, post_commit_offset, abort_ip;
};

RseqArea area;

// The copy of `canon` that CPU `cpu` owns.
template <typename T> T *copyOf(void *canon, unsigned cpu)
{
    return reinterpret_cast<T *>(static_cast<char *>(canon) + pcpu_unit_offset[cpu]);
}

class RseqSim : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_GE(pcpu_nr_cpus(), 3u) << "the test moves between CPUs 1 and 2 (ctest sets PERCPU_NR_CPUS=8)";
        saved = pcpu__rseq_offset;
        savedThread = pcpu__thread_rseq_offset;
        memset(&area, 0, sizeof(area));
        area.cpu_id = 1;
        pcpu__rseq_offset = reinterpret_cast<char *>(&area) -
                            reinterpret_cast<char *>(pcpu_arch_thread_pointer());
        pcpu__thread_rseq_offset = pcpu__rseq_offset;
        ASSERT_NE(pcpu__rseq_offset, 0);
        canon = pcpu_alloc(64, 16);
        ASSERT_NE(canon, nullptr);
    }
    void TearDown() override
    {
        pcpu__rseq_offset = saved;
        pcpu__thread_rseq_offset = savedThread;
        if (canon) {
            EXPECT_EQ(pcpu_free(canon), 0);
        }
    }

    // Sets every CPU's copy of the object to `pattern` bytes.
    void fill(unsigned char pattern)
    {
        for (unsigned c = 0; c < pcpu_nr_cpus(); ++c)
            memset(copyOf<char>(canon, c), pattern, 64);
    }
    // Every copy but `except`'s still holds `pattern`.
    void expectOthersUntouched(unsigned except, unsigned char pattern)
    {
        for (unsigned c = 0; c < pcpu_nr_cpus(); ++c) {
            if (c == except)
                continue;
            const unsigned char *p = copyOf<unsigned char>(canon, c);
            for (int i = 0; i < 64; ++i)
                ASSERT_EQ(p[i], pattern) << "CPU " << c << " byte " << i;
        }
    }

    long saved = 0, savedThread = 0;
    void *canon = nullptr;
};

// Every operation of one width against its expected effect on CPU 1's copy.
template <typename T> void driveWidth(RseqSim &t, void *canon,
                                      int (*add)(void *, T), int (*andOp)(void *, T),
                                      int (*orOp)(void *, T), int (*write)(void *, T),
                                      int (*addReturn)(void *, T, T *), int (*xchg)(void *, T, T *),
                                      int (*cmpxchg)(void *, T, T, T *))
{
    const unsigned cpu = area.cpu_id;
    T *mine = copyOf<T>(canon, cpu);
    const T init = static_cast<T>(0x5a5a5a5a5a5a5a5aULL);
    const T big = static_cast<T>(~T{0} - 3); // carries out of the width
    *mine = init;

    EXPECT_EQ(add(canon, 7), 0);
    EXPECT_EQ(*mine, static_cast<T>(init + 7));
    *mine = big;
    EXPECT_EQ(add(canon, 5), 0);
    EXPECT_EQ(*mine, static_cast<T>(big + 5)) << "wraps within its width";
    EXPECT_EQ(mine[1], static_cast<T>(0x5a5a5a5a5a5a5a5aULL)) << "the next element is not touched";

    *mine = init;
    EXPECT_EQ(andOp(canon, static_cast<T>(0x0ff00ff00ff00ff0ULL)), 0);
    EXPECT_EQ(*mine, static_cast<T>(init & static_cast<T>(0x0ff00ff00ff00ff0ULL)));
    EXPECT_EQ(orOp(canon, static_cast<T>(0x8001800180018001ULL)), 0);
    EXPECT_EQ(*mine, static_cast<T>((init & static_cast<T>(0x0ff00ff00ff00ff0ULL)) |
                                    static_cast<T>(0x8001800180018001ULL)));

    EXPECT_EQ(write(canon, static_cast<T>(0x1234567890abcdefULL)), 0);
    EXPECT_EQ(*mine, static_cast<T>(0x1234567890abcdefULL));

    T result = 0;
    *mine = init;
    EXPECT_EQ(addReturn(canon, 9, &result), 0);
    EXPECT_EQ(result, static_cast<T>(init + 9));
    EXPECT_EQ(*mine, static_cast<T>(init + 9));

    T old = 0;
    EXPECT_EQ(xchg(canon, static_cast<T>(0x77), &old), 0);
    EXPECT_EQ(old, static_cast<T>(init + 9));
    EXPECT_EQ(*mine, static_cast<T>(0x77));

    EXPECT_EQ(cmpxchg(canon, static_cast<T>(0x78), static_cast<T>(0x99), &old), 0);
    EXPECT_EQ(old, static_cast<T>(0x77));
    EXPECT_EQ(*mine, static_cast<T>(0x77)) << "a failed compare writes nothing";
    EXPECT_EQ(cmpxchg(canon, static_cast<T>(0x77), static_cast<T>(0x99), &old), 0);
    EXPECT_EQ(old, static_cast<T>(0x77));
    EXPECT_EQ(*mine, static_cast<T>(0x99));
    // A narrow value whose upper register bits would differ if the load
    // sign-extended: the compare must see the zero-extended value.
    *mine = big;
    EXPECT_EQ(cmpxchg(canon, big, static_cast<T>(1), &old), 0);
    EXPECT_EQ(old, big);
    EXPECT_EQ(*mine, static_cast<T>(1));

    EXPECT_EQ(area.rseq_cs, 0u) << "the descriptor is disarmed after the commit";
    (void)t;
}

#define PCPU_DRIVE(bits)                                                                           \
    driveWidth<uint##bits##_t>(*this, canon, pcpu_arch_add_##bits, pcpu_arch_and_##bits,          \
                               pcpu_arch_or_##bits, pcpu_arch_write_##bits,                       \
                               pcpu_arch_add_return_##bits, pcpu_arch_xchg_##bits,                \
                               pcpu_arch_cmpxchg_##bits)

TEST_F(RseqSim, EveryOperationAtEveryWidthChangesOnlyTheNamedCpusCopy)
{
    for (unsigned cpu : {1u, 2u, pcpu_nr_cpus() - 1}) {
        area.cpu_id = cpu;
        fill(0x5a);
        PCPU_DRIVE(8);
        expectOthersUntouched(cpu, 0x5a);
        fill(0x5a);
        PCPU_DRIVE(16);
        expectOthersUntouched(cpu, 0x5a);
        fill(0x5a);
        PCPU_DRIVE(32);
        expectOthersUntouched(cpu, 0x5a);
        fill(0x5a);
        PCPU_DRIVE(64);
        expectOthersUntouched(cpu, 0x5a);

        fill(0x5a);
        auto *mine = copyOf<pcpu_u128>(canon, cpu);
        const pcpu_u128 a = (pcpu_u128{0x1111222233334444ULL} << 64) | 0x5555666677778888ULL;
        const pcpu_u128 b = (pcpu_u128{0x9999aaaabbbbccccULL} << 64) | 0xddddeeeeffff0000ULL;
        *mine = a;
        pcpu_u128 old = 0;
        // Only the high half differs: both halves must be compared.
        EXPECT_EQ(pcpu_arch_cmpxchg_128(canon, a ^ (pcpu_u128{1} << 64), b, &old), 0);
        EXPECT_TRUE(old == a);
        EXPECT_TRUE(*mine == a);
        EXPECT_EQ(pcpu_arch_cmpxchg_128(canon, a, b, &old), 0);
        EXPECT_TRUE(old == a);
        EXPECT_TRUE(*mine == b);
        expectOthersUntouched(cpu, 0x5a);
        EXPECT_EQ(area.rseq_cs, 0u);
    }
}

TEST_F(RseqSim, TheCounterAddStaysInsideTheBatch)
{
    // percpu_counter's sequence on {delta, counted}: the delta takes v
    // unless the CPU has not counted (answer 2) or the sum leaves
    // [lo, lo + span) (answer 1); then nothing is written.
    for (unsigned cpu : {1u, 2u}) {
        area.cpu_id = cpu;
        fill(0x5a);
        int32_t *mine = copyOf<int32_t>(canon, cpu);
        const int64_t batch = 32, lo = 1 - batch;
        const uint64_t span = 2 * batch - 1;
        *mine = 30;
        mine[1] = 0;
        EXPECT_EQ(pcpu_arch_counter_add(canon, 1, lo, span), 2) << "not counted on this CPU yet";
        EXPECT_EQ(*mine, 30);
        mine[1] = 1;
        EXPECT_EQ(pcpu_arch_counter_add(canon, 1, lo, span), 0);
        EXPECT_EQ(*mine, 31);
        EXPECT_EQ(pcpu_arch_counter_add(canon, 1, lo, span), 1) << "32 reaches the batch";
        EXPECT_EQ(*mine, 31);
        EXPECT_EQ(pcpu_arch_counter_add(canon, -62, lo, span), 0);
        EXPECT_EQ(*mine, -31);
        EXPECT_EQ(pcpu_arch_counter_add(canon, -1, lo, span), 1) << "-32 reaches it too";
        EXPECT_EQ(*mine, -31);
        // The sum is computed in 64 bits: a huge amount or a delta near the
        // int32 limit does not wrap back into the batch.
        EXPECT_EQ(pcpu_arch_counter_add(canon, int64_t{1} << 32, lo, span), 1);
        EXPECT_EQ(*mine, -31);
        *mine = INT32_MAX;
        EXPECT_EQ(pcpu_arch_counter_add(canon, 1, lo, span), 1);
        EXPECT_EQ(*mine, INT32_MAX);
        EXPECT_EQ(mine[1], 1) << "the counted word is only read";
        EXPECT_EQ(mine[2], 0x5a5a5a5a) << "the next element is not touched";
        expectOthersUntouched(cpu, 0x5a);
        EXPECT_EQ(area.rseq_cs, 0u);
    }
    area.cpu_id = 0xffffffffu;
    EXPECT_EQ(pcpu_arch_counter_add(canon, 1, -31, 63), 1);
}

TEST_F(RseqSim, AnUnregisteredAreaSendsEveryOperationToTheSlowPath)
{
    fill(0x5a);
    area.cpu_id = 0xffffffffu; // RSEQ_CPU_ID_UNINITIALIZED
    uint64_t r64 = 0;
    uint32_t r32 = 0;
    uint16_t r16 = 0;
    uint8_t r8 = 0;
    pcpu_u128 r128 = 0;
    EXPECT_EQ(pcpu_arch_add_8(canon, 1), 1);
    EXPECT_EQ(pcpu_arch_and_16(canon, 1), 1);
    EXPECT_EQ(pcpu_arch_or_32(canon, 1), 1);
    EXPECT_EQ(pcpu_arch_write_64(canon, 1), 1);
    EXPECT_EQ(pcpu_arch_add_return_32(canon, 1, &r32), 1);
    EXPECT_EQ(pcpu_arch_xchg_16(canon, 1, &r16), 1);
    EXPECT_EQ(pcpu_arch_cmpxchg_8(canon, 0x5a, 1, &r8), 1);
    EXPECT_EQ(pcpu_arch_cmpxchg_64(canon, 0, 1, &r64), 1);
    EXPECT_EQ(pcpu_arch_cmpxchg_128(canon, 0, 1, &r128), 1);
    expectOthersUntouched(~0u, 0x5a);
    EXPECT_EQ(area.rseq_cs, 0u);

    // No area at all (pcpu__rseq_offset 0): the same answer.
    pcpu__rseq_offset = 0;
    pcpu__thread_rseq_offset = 0;
    EXPECT_EQ(pcpu_arch_add_64(canon, 1), 1);
    EXPECT_EQ(pcpu_arch_cmpxchg_on_64(canon, pcpu_unit_offset[1], 0x5a5a5a5a5a5a5a5aULL, 1, &r64), 1);
    expectOthersUntouched(~0u, 0x5a);
}

// A shared object's code (PERCPU_SHARED_OBJECT) reads its own bounded copy
// of the unit table: a CPU it has works as in the program, a CPU numbered
// past it answers 1 (the slow path, whose runtime has every CPU) and writes
// nothing, and this_cpu_ptr() takes that CPU's offset from the whole table.
TEST_F(RseqSim, ASharedObjectsBoundedTableSendsACpuPastItToTheSlowPath)
{
    uintptr_t *table = rseqsim::library::table();
    for (unsigned c = 0; c < PCPU_LIBRARY_UNIT_ENTRIES; ++c)
        table[c] = c < pcpu_nr_cpus() ? pcpu_unit_offset[c] : 0;
    fill(0x5a);
    area.cpu_id = 2;
    EXPECT_EQ(rseqsim::library::add64(canon, 1), 0);
    EXPECT_EQ(*copyOf<uint64_t>(canon, 2), 0x5a5a5a5a5a5a5a5bULL);
    uint32_t old = 0;
    EXPECT_EQ(rseqsim::library::cmpxchg32(canon, 0x5a5a5a5bu, 7, &old), 0);
    EXPECT_EQ(old, 0x5a5a5a5bu);
    EXPECT_EQ(*copyOf<uint32_t>(canon, 2), 7u);
    expectOthersUntouched(2, 0x5a);
    EXPECT_EQ(rseqsim::library::thisUnit(), pcpu_unit_offset[2]);

    // The object's table is what it reads: a different entry for CPU 2 moves
    // its fast path's copy (CPU 3's here).
    table[2] = pcpu_unit_offset[3];
    EXPECT_EQ(rseqsim::library::add64(canon, 2), 0);
    EXPECT_EQ(*copyOf<uint64_t>(canon, 3), 0x5a5a5a5a5a5a5a5cULL);
    table[2] = pcpu_unit_offset[2];
    fill(0x5a);

    // Past the table: nothing done, on any copy; the whole table for a
    // pointer (a marker entry here: the test's units stop at 8).
    area.cpu_id = PCPU_LIBRARY_UNIT_ENTRIES;
    const int64_t batch = 32;
    uint64_t word = reinterpret_cast<uintptr_t>(canon);
    EXPECT_EQ(rseqsim::library::add64(canon, 1), 1);
    EXPECT_EQ(rseqsim::library::cmpxchg32(canon, 0x5a5a5a5au, 7, &old), 1);
    EXPECT_EQ(rseqsim::library::counterAdd(canon, 1, 1 - batch, 2 * batch - 1), 1);
    EXPECT_EQ(rseqsim::library::refAdd(reinterpret_cast<const unsigned long *>(&word), 1), 1);
    expectOthersUntouched(~0u, 0x5a);
    EXPECT_EQ(area.rseq_cs, 0u);
    const uintptr_t saved = pcpu_unit_offset[PCPU_LIBRARY_UNIT_ENTRIES];
    pcpu_unit_offset[PCPU_LIBRARY_UNIT_ENTRIES] = 0x123000;
    EXPECT_EQ(rseqsim::library::thisUnit(), 0x123000u);
    pcpu_unit_offset[PCPU_LIBRARY_UNIT_ENTRIES] = saved;
    // The table's last CPU still comes from the object's table.
    area.cpu_id = PCPU_LIBRARY_UNIT_ENTRIES - 1;
    table[PCPU_LIBRARY_UNIT_ENTRIES - 1] = 0x456000;
    EXPECT_EQ(rseqsim::library::thisUnit(), 0x456000u);

    // Not registered: still the slow path.
    area.cpu_id = 0xffffffffu;
    EXPECT_EQ(rseqsim::library::add64(canon, 1), 1);
    expectOthersUntouched(~0u, 0x5a);
}

// A thread that holds a CPU: its own offset is 0, so every this_cpu fast
// path answers 1; the held-CPU compare-and-exchange reads the process's
// offset and commits only when the area names the CPU it was given.
template <typename T>
void driveOn(void *canon, int (*on)(void *, uintptr_t, T, T, T *))
{
    const unsigned cpu = area.cpu_id, other = cpu == 1 ? 2 : 1;
    T *mine = copyOf<T>(canon, cpu);
    T *theirs = copyOf<T>(canon, other);
    const T start = *mine, theirStart = *theirs;
    T old = 0;
    // Another CPU named: nothing done, on any copy.
    EXPECT_EQ(on(canon, pcpu_unit_offset[other], theirStart, static_cast<T>(7), &old), 1);
    EXPECT_EQ(*theirs, theirStart);
    EXPECT_EQ(*mine, start);
    // The CPU the thread runs on: compared, and stored when equal.
    EXPECT_EQ(on(canon, pcpu_unit_offset[cpu], static_cast<T>(start + 1), static_cast<T>(7), &old), 0);
    EXPECT_EQ(old, start);
    EXPECT_EQ(*mine, start);
    EXPECT_EQ(on(canon, pcpu_unit_offset[cpu], start, static_cast<T>(7), &old), 0);
    EXPECT_EQ(old, start);
    EXPECT_EQ(*mine, static_cast<T>(7));
    EXPECT_EQ(area.rseq_cs, 0u);
}

TEST_F(RseqSim, AThreadHoldingACpuCommitsOnlyOnThatCpu)
{
    pcpu__thread_rseq_offset = 0;
    uint64_t r64 = 0;
    EXPECT_EQ(pcpu_arch_add_64(canon, 1), 1);
    EXPECT_EQ(pcpu_arch_xchg_64(canon, 1, &r64), 1);
    EXPECT_EQ(pcpu_arch_current_cpu(), -1);
    for (unsigned cpu : {1u, 2u, pcpu_nr_cpus() - 1}) {
        area.cpu_id = cpu;
        fill(0x5a);
        driveOn<uint8_t>(canon, pcpu_arch_cmpxchg_on_8);
        driveOn<uint16_t>(canon, pcpu_arch_cmpxchg_on_16);
        driveOn<uint32_t>(canon, pcpu_arch_cmpxchg_on_32);
        driveOn<uint64_t>(canon, pcpu_arch_cmpxchg_on_64);
        // The 8-byte copy covers the narrower ones: only this CPU's changed.
        expectOthersUntouched(cpu, 0x5a);
    }
    // "Not registered" in the area: nothing done either.
    area.cpu_id = static_cast<uint32_t>(-2);
    fill(0x5a);
    EXPECT_EQ(pcpu_arch_cmpxchg_on_64(canon, pcpu_unit_offset[1], 0x5a5a5a5a5a5a5a5aULL, 1, &r64), 1);
    expectOthersUntouched(~0u, 0x5a);
}

// ---- the abort path ---------------------------------------------------------
struct AbortState {
    void *page = nullptr;  // the read-only page of the first CPU's copy
    size_t pageSize = 0;
    unsigned moveTo = 0;   // the CPU the "migration" moves to
    int aborts = 0;
    int outside = 0;       // faults outside a critical section (a test bug)
    int badSignature = 0;
} abortState;

uintptr_t pcOf(const ucontext_t *uc)
{
#if defined(__x86_64__)
    return static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return static_cast<uintptr_t>(uc->uc_mcontext.pc);
#endif
}

void setPc(ucontext_t *uc, uintptr_t pc)
{
#if defined(__x86_64__)
    uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(pc);
#elif defined(__aarch64__)
    uc->uc_mcontext.pc = pc;
#endif
}

// What the kernel does when it preempts a thread inside an armed critical
// section (kernel/rseq.c: rseq_ip_fixup): the PC goes to abort_ip, whose
// preceding word must be the signature, and rseq_cs is cleared.
void preempt(int, siginfo_t *, void *ctx)
{
    auto *uc = static_cast<ucontext_t *>(ctx);
    AbortState &s = abortState;
    mprotect(s.page, s.pageSize, PROT_READ | PROT_WRITE);
    const auto *cs = reinterpret_cast<const RseqCs *>(area.rseq_cs);
    const uintptr_t pc = pcOf(uc);
    if (!cs || pc < cs->start_ip || pc - cs->start_ip >= cs->post_commit_offset) {
        ++s.outside;
        return; // the page is writable again: the instruction re-runs
    }
    uint32_t sig;
    memcpy(&sig, reinterpret_cast<const void *>(cs->abort_ip - 4), 4);
    if (sig != PCPU_RSEQ_SIG) {
        ++s.badSignature;
        return;
    }
    area.rseq_cs = 0;
    area.cpu_id = s.moveTo;
    ++s.aborts;
    setPc(uc, cs->abort_ip);
}

class RseqAbort : public RseqSim {
protected:
    void SetUp() override
    {
        RseqSim::SetUp();
        struct sigaction sa {};
        sa.sa_sigaction = preempt;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        ASSERT_EQ(sigaction(SIGSEGV, &sa, &old), 0);
        abortState = AbortState{};
        abortState.pageSize = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    }
    void TearDown() override
    {
        sigaction(SIGSEGV, &old, nullptr);
        RseqSim::TearDown();
    }

    // Makes CPU 1's copy read-only (the commit store faults) and names CPU 1
    // in the area; the handler moves the thread to CPU 2.
    void arm()
    {
        area.cpu_id = 1;
        abortState.moveTo = 2;
        auto page = reinterpret_cast<uintptr_t>(copyOf<char>(canon, 1)) & ~(abortState.pageSize - 1);
        abortState.page = reinterpret_cast<void *>(page);
        ASSERT_EQ(mprotect(abortState.page, abortState.pageSize, PROT_READ), 0);
    }
    void expectOneAbort()
    {
        // Writable again even if nothing faulted (a test failure).
        mprotect(abortState.page, abortState.pageSize, PROT_READ | PROT_WRITE);
        EXPECT_EQ(abortState.aborts, 1);
        EXPECT_EQ(abortState.outside, 0) << "a fault outside the critical section";
        EXPECT_EQ(abortState.badSignature, 0) << "no RSEQ_SIG before abort_ip";
        EXPECT_EQ(area.cpu_id, 2u);
        EXPECT_EQ(area.rseq_cs, 0u);
        abortState.aborts = 0;
    }

    struct sigaction old {};
};

// The copies live in pages the runtime committed: a page of CPU 1's unit is
// read-only for one attempt.  Each operation's first attempt faults at its
// commit; after the abort it must re-read the CPU number, re-arm, and apply
// once to CPU 2's copy, leaving CPU 1's as it was.
#define PCPU_ABORT_CASE(T, call, expected1, expected2)                                            \
    do {                                                                                           \
        *copyOf<T>(canon, 1) = static_cast<T>(100);                                                \
        *copyOf<T>(canon, 2) = static_cast<T>(200);                                                \
        arm();                                                                                     \
        EXPECT_EQ(call, 0) << #call;                                                               \
        expectOneAbort();                                                                          \
        EXPECT_EQ(*copyOf<T>(canon, 1), static_cast<T>(expected1)) << #call;                       \
        EXPECT_EQ(*copyOf<T>(canon, 2), static_cast<T>(expected2)) << #call;                       \
    } while (0)

TEST_F(RseqAbort, APreemptedOperationRestartsAndAppliesOnceOnTheNewCpu)
{
    uint8_t o8 = 0;
    uint16_t o16 = 0;
    uint32_t o32 = 0;
    uint64_t o64 = 0;
    PCPU_ABORT_CASE(uint8_t, pcpu_arch_add_8(canon, 3), 100, 203);
    PCPU_ABORT_CASE(uint16_t, pcpu_arch_add_16(canon, 3), 100, 203);
    PCPU_ABORT_CASE(uint32_t, pcpu_arch_add_32(canon, 3), 100, 203);
    PCPU_ABORT_CASE(uint64_t, pcpu_arch_add_64(canon, 3), 100, 203);
    PCPU_ABORT_CASE(uint32_t, pcpu_arch_and_32(canon, 0xf0), 100, 200 & 0xf0);
    PCPU_ABORT_CASE(uint64_t, pcpu_arch_or_64(canon, 1), 100, 201);
    PCPU_ABORT_CASE(uint16_t, pcpu_arch_write_16(canon, 7), 100, 7);
    PCPU_ABORT_CASE(uint64_t, pcpu_arch_add_return_64(canon, 5, &o64), 100, 205);
    EXPECT_EQ(o64, 205u);
    PCPU_ABORT_CASE(uint8_t, pcpu_arch_xchg_8(canon, 9, &o8), 100, 9);
    EXPECT_EQ(o8, 200u) << "the old value is the new CPU's";
    // Equal on CPU 1, whose store is aborted; unequal on CPU 2 after the
    // restart: nothing written, and the old value is CPU 2's.
    PCPU_ABORT_CASE(uint32_t, pcpu_arch_cmpxchg_32(canon, 100, 1, &o32), 100, 200);
    EXPECT_EQ(o32, 200u) << "compared against the new CPU's copy";
    PCPU_ABORT_CASE(uint64_t, pcpu_arch_cmpxchg_64(canon, 100, 1, &o64), 100, 200);
    EXPECT_EQ(o64, 200u);
    PCPU_ABORT_CASE(uint16_t, pcpu_arch_add_return_16(canon, 1, &o16), 100, 201);
    EXPECT_EQ(o16, 201u);

    *copyOf<pcpu_u128>(canon, 1) = 100;
    *copyOf<pcpu_u128>(canon, 2) = 200;
    arm();
    pcpu_u128 o128 = 0;
    EXPECT_EQ(pcpu_arch_cmpxchg_128(canon, 100, 300, &o128), 0);
    expectOneAbort();
    EXPECT_TRUE(o128 == 200) << "compared against the new CPU's copy";
    EXPECT_TRUE(*copyOf<pcpu_u128>(canon, 1) == 100);
    EXPECT_TRUE(*copyOf<pcpu_u128>(canon, 2) == 200);
    // And one that succeeds after the restart: equal on both CPUs.
    *copyOf<pcpu_u128>(canon, 1) = 200;
    arm();
    EXPECT_EQ(pcpu_arch_cmpxchg_128(canon, 200, 300, &o128), 0);
    expectOneAbort();
    EXPECT_TRUE(o128 == 200);
    EXPECT_TRUE(*copyOf<pcpu_u128>(canon, 1) == 200);
    EXPECT_TRUE(*copyOf<pcpu_u128>(canon, 2) == 300);
}

} // namespace
