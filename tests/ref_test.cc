// percpu_ref (<percpu/percpu-refcount.h>): the release callback runs exactly
// once, when the count reaches zero after kill, whatever gets and puts race
// with the kill and with mode switches; tryget_live fails once killed;
// resurrect/reinit cycles.  ctest runs it on the rseq path, on the shared
// path (PERCPU_RSEQ=0) and at 4096 simulated CPUs.
#include <percpu/linux.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

std::atomic<int> released{0};
std::atomic<int> confirmed{0};
void onRelease(percpu_ref *) { released.fetch_add(1); }
void onConfirm(percpu_ref *) { confirmed.fetch_add(1); }

struct RefTest : testing::Test {
    void SetUp() override
    {
        released = 0;
        confirmed = 0;
    }
};

TEST_F(RefTest, ReleaseRunsOnceWhenTheLastReferenceGoesAfterKill)
{
    percpu_ref ref;
    ASSERT_EQ(percpu_ref_init(&ref, onRelease, 0, GFP_KERNEL), 0);
    EXPECT_FALSE(percpu_ref_is_zero(&ref));
    for (int i = 0; i < 1000; ++i)
        percpu_ref_get(&ref);
    percpu_ref_get_many(&ref, 5);
    percpu_ref_put_many(&ref, 5);
    EXPECT_TRUE(percpu_ref_tryget(&ref));
    EXPECT_TRUE(percpu_ref_tryget_live(&ref));
    percpu_ref_kill_and_confirm(&ref, onConfirm);
    EXPECT_EQ(confirmed.load(), 1);
    EXPECT_TRUE(percpu_ref_is_dying(&ref));
    EXPECT_FALSE(percpu_ref_tryget_live(&ref)) << "killed: no new live reference";
    EXPECT_TRUE(percpu_ref_tryget(&ref)) << "not zero yet: tryget still works";
    percpu_ref_put(&ref);
    EXPECT_EQ(released.load(), 0);
    for (int i = 0; i < 1001; ++i) // the 1000 gets, and the tryget_live
        percpu_ref_put(&ref);
    EXPECT_EQ(released.load(), 0) << "one reference (the tryget) is still held";
    percpu_ref_put(&ref);
    EXPECT_EQ(released.load(), 1);
    EXPECT_TRUE(percpu_ref_is_zero(&ref));
    EXPECT_FALSE(percpu_ref_tryget(&ref)) << "zero: nothing to get";
    percpu_ref_exit(&ref);
    EXPECT_TRUE(percpu_ref_is_zero(&ref));
    EXPECT_EQ(released.load(), 1);
}

// Threads take and drop references (with migrations: more threads than
// CPUs) while the main thread kills the ref: release runs exactly once,
// after the last put, and no tryget_live succeeds once the kill returned.
TEST_F(RefTest, KillRacingWithGetsAndPutsReleasesExactlyOnce)
{
    for (int round = 0; round < 20; ++round) {
        released = 0;
        percpu_ref ref;
        ASSERT_EQ(percpu_ref_init(&ref, onRelease, 0, GFP_KERNEL), 0);
        std::atomic<bool> killed{false}, stop{false};
        std::atomic<long> lateLive{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&] {
                while (!stop.load(std::memory_order_relaxed)) {
                    bool after = killed.load(std::memory_order_acquire);
                    if (percpu_ref_tryget_live(&ref)) {
                        if (after)
                            lateLive.fetch_add(1);
                        percpu_ref_get_many(&ref, 3);
                        percpu_ref_put_many(&ref, 2);
                        percpu_ref_put(&ref);
                        EXPECT_EQ(released.load(), 0) << "released while a reference was held";
                        percpu_ref_put(&ref);
                    }
                }
            });
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        percpu_ref_kill(&ref);
        killed.store(true, std::memory_order_release);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        stop = true;
        for (auto &t : threads)
            t.join();
        EXPECT_EQ(lateLive.load(), 0) << "tryget_live succeeded after the kill returned";
        EXPECT_EQ(released.load(), 1) << "round " << round;
        EXPECT_TRUE(percpu_ref_is_zero(&ref));
        percpu_ref_exit(&ref);
    }
}

// Switching between per-CPU and atomic mode under load keeps the count.
TEST_F(RefTest, ModeSwitchesUnderLoadKeepTheCount)
{
    percpu_ref ref;
    ASSERT_EQ(percpu_ref_init(&ref, onRelease, 0, GFP_KERNEL), 0);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
                percpu_ref_get(&ref);
                percpu_ref_get(&ref);
                percpu_ref_put(&ref);
                percpu_ref_put(&ref);
            }
        });
    // A few references held across the switches, dropped in the other mode.
    for (int i = 0; i < 200; ++i) {
        percpu_ref_get(&ref);
        percpu_ref_switch_to_atomic(&ref, onConfirm);
        percpu_ref_put(&ref);
        percpu_ref_get(&ref);
        percpu_ref_switch_to_percpu(&ref);
        percpu_ref_put(&ref);
    }
    stop = true;
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(confirmed.load(), 200);
    EXPECT_EQ(released.load(), 0);
    percpu_ref_kill(&ref);
    EXPECT_EQ(released.load(), 1) << "the initial reference was the last one";
    percpu_ref_exit(&ref);
}

TEST_F(RefTest, ResurrectAndReinitCycles)
{
    percpu_ref ref;
    ASSERT_EQ(percpu_ref_init(&ref, onRelease, PERCPU_REF_ALLOW_REINIT, GFP_KERNEL), 0);
    for (int cycle = 1; cycle <= 50; ++cycle) {
        percpu_ref_get(&ref);
        percpu_ref_kill(&ref);
        EXPECT_FALSE(percpu_ref_tryget_live(&ref));
        if (cycle % 2) {
            // Resurrect while a reference is held: never released.
            percpu_ref_resurrect(&ref);
            EXPECT_TRUE(percpu_ref_tryget_live(&ref));
            percpu_ref_put(&ref);
            percpu_ref_put(&ref);
            EXPECT_EQ(released.load(), cycle / 2);
        } else {
            percpu_ref_put(&ref); // the last one: released
            EXPECT_EQ(released.load(), cycle / 2);
            EXPECT_TRUE(percpu_ref_is_zero(&ref));
            percpu_ref_reinit(&ref);
            EXPECT_FALSE(percpu_ref_is_zero(&ref));
            EXPECT_TRUE(percpu_ref_tryget_live(&ref));
            percpu_ref_put(&ref);
        }
    }
    percpu_ref_kill(&ref);
    EXPECT_EQ(released.load(), 26);
    percpu_ref_exit(&ref);
}

// On the rseq path, per-CPU mode gets and puts leave the shared count alone.
TEST_F(RefTest, PerCpuModeUsesThePerCpuCounts)
{
    percpu_ref ref;
    ASSERT_EQ(percpu_ref_init(&ref, onRelease, 0, GFP_KERNEL), 0);
    if (pcpu_cpu_source() == PCPU_CPU_SOURCE_GETCPU || (ref.percpu_count_ptr & __PERCPU_REF_ATOMIC)) {
        percpu_ref_exit(&ref);
        GTEST_SKIP() << "no rseq, or no membarrier(PRIVATE_EXPEDITED_RSEQ): the shared path only";
    }
    long before = ref.data->count;
    for (int i = 0; i < 1000; ++i)
        percpu_ref_get(&ref);
    EXPECT_EQ(ref.data->count, before);
    unsigned long sum = 0;
    int cpu;
    for_each_possible_cpu(cpu)
        sum += *per_cpu_ptr(reinterpret_cast<unsigned long *>(ref.percpu_count_ptr), cpu);
    EXPECT_EQ(sum, 1000u);
    percpu_ref_put_many(&ref, 1000);
    percpu_ref_kill(&ref);
    EXPECT_EQ(released.load(), 1);
    percpu_ref_exit(&ref);
}

TEST_F(RefTest, InitFlags)
{
    percpu_ref a, d;
    ASSERT_EQ(percpu_ref_init(&a, onRelease, PERCPU_REF_INIT_ATOMIC, GFP_KERNEL), 0);
    percpu_ref_get(&a);
    percpu_ref_switch_to_percpu(&a); // allowed: the atomic start was only forced
    percpu_ref_put(&a);
    percpu_ref_kill(&a);
    EXPECT_EQ(released.load(), 1);
    percpu_ref_exit(&a);

    ASSERT_EQ(percpu_ref_init(&d, onRelease, PERCPU_REF_INIT_DEAD, GFP_KERNEL), 0);
    EXPECT_TRUE(percpu_ref_is_zero(&d));
    EXPECT_TRUE(percpu_ref_is_dying(&d));
    EXPECT_FALSE(percpu_ref_tryget(&d));
    percpu_ref_reinit(&d);
    EXPECT_TRUE(percpu_ref_tryget_live(&d));
    percpu_ref_put(&d);
    percpu_ref_kill(&d);
    EXPECT_EQ(released.load(), 2);
    percpu_ref_exit(&d);
}

} // namespace
