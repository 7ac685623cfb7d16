// Helpers shared by the runtime tests: CPU affinity and the expected setup.
#ifndef PERCPU_TESTS_TEST_UTIL_H
#define PERCPU_TESTS_TEST_UTIL_H

#include <percpu/percpu.h>

#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace percpu::test {

// The process's mappings (lines of /proc/self/maps).
inline long mapsCount()
{
    FILE *f = fopen("/proc/self/maps", "re");
    long n = 0;
    for (int ch; f && (ch = getc(f)) != EOF;)
        n += ch == '\n';
    if (f)
        fclose(f);
    return n;
}

// CPUs this process may run on, in order.
inline std::vector<int> allowedCpus()
{
    cpu_set_t set;
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set))
                cpus.push_back(c);
    return cpus;
}

// Moves the calling thread to the k-th allowed CPU (modulo their number).
inline void migrate(int k)
{
    static const std::vector<int> cpus = allowedCpus();
    if (cpus.size() < 2)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[static_cast<size_t>(k) % cpus.size()], &set);
    sched_setaffinity(0, sizeof(set), &set);
}

// Pins the calling thread to the CPU it runs on; restores on destruction.
class PinToCurrentCpu {
public:
    PinToCurrentCpu()
    {
        sched_getaffinity(0, sizeof(saved_), &saved_);
        cpu_ = sched_getcpu();
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu_, &one);
        sched_setaffinity(0, sizeof(one), &one);
    }
    ~PinToCurrentCpu() { sched_setaffinity(0, sizeof(saved_), &saved_); }
    int cpu() const { return cpu_; }

private:
    cpu_set_t saved_;
    int cpu_;
};

// The number of units the runtime should have made.
inline unsigned expectedCpus()
{
    unsigned possible = 0;
    if (FILE *f = fopen("/sys/devices/system/cpu/possible", "r")) {
        char buf[256] = {};
        if (fgets(buf, sizeof(buf), f)) {
            // highest number in the list + 1
            for (char *p = buf; *p;) {
                if (*p < '0' || *p > '9') {
                    ++p;
                    continue;
                }
                char *end;
                unsigned long v = strtoul(p, &end, 10);
                if (v + 1 > possible)
                    possible = static_cast<unsigned>(v + 1);
                p = end;
            }
        }
        fclose(f);
    }
    const char *env = getenv("PERCPU_NR_CPUS");
    unsigned want = env ? static_cast<unsigned>(atoi(env)) : 0;
    return want > possible ? want : possible;
}

} // namespace percpu::test

#endif
