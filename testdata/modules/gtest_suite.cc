// A GoogleTest suite built into a module together with every object of the
// system's libgtest.a: C++ code nobody here wrote (static constructors that
// register the tests, RTTI, exceptions crossing module frames, iostreams,
// COMDAT groups merged by `percpu-elfpatch link`), run by percpu-load.
// The module's own per-CPU counter checks per-CPU data inside such code.
#include <percpu/linux.h>

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

DEFINE_PER_CPU(long, gtest_suite_hits);

namespace {

int parse(const std::string &s)
{
    size_t used = 0;
    int v = std::stoi(s, &used);
    if (used != s.size())
        throw std::invalid_argument("trailing characters in '" + s + "'");
    return v;
}

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
};
struct Square : Shape {
    double side;
    explicit Square(double s) : side(s) {}
    double area() const override { return side * side; }
};

long hitsOnAllCpus()
{
    long total = 0;
    int cpu;
    for_each_possible_cpu(cpu) total += *per_cpu_ptr(&gtest_suite_hits, cpu);
    return total;
}

TEST(ModuleSuite, ExceptionsCrossModuleFrames)
{
    EXPECT_EQ(parse("42"), 42);
    EXPECT_THROW(parse("42x"), std::invalid_argument);
    EXPECT_THROW(parse("x"), std::invalid_argument); // thrown inside libstdc++
    this_cpu_inc(gtest_suite_hits);
}

TEST(ModuleSuite, RttiAndVirtualCalls)
{
    std::unique_ptr<Shape> s = std::make_unique<Square>(3);
    EXPECT_DOUBLE_EQ(s->area(), 9.0);
    EXPECT_NE(dynamic_cast<Square *>(s.get()), nullptr);
    EXPECT_STREQ(typeid(*s).name(), typeid(Square).name());
    this_cpu_inc(gtest_suite_hits);
}

TEST(ModuleSuite, StreamsAndContainers)
{
    std::ostringstream out;
    std::map<std::string, int> m{{"b", 2}, {"a", 1}};
    for (const auto &[k, v] : m)
        out << k << '=' << v << ';';
    EXPECT_EQ(out.str(), "a=1;b=2;");
    this_cpu_inc(gtest_suite_hits);
}

TEST(ModuleSuite, PerCpuCounterFromThreads)
{
    long before = hitsOnAllCpus();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([] {
            for (int i = 0; i < 10000; ++i)
                this_cpu_inc(gtest_suite_hits);
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(hitsOnAllCpus() - before, 40000);
}

} // namespace

extern "C" int percpu_run_gtest_suite(void)
{
    int argc = 1;
    char name[] = "gtest_module";
    char *argv[] = {name, nullptr};
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
