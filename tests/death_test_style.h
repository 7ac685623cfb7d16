// The death-test style of the project's GoogleTest suites.
//
// "threadsafe" re-executes the test binary for each death test, which is
// what the sanitizers' threads need.  Under qemu-user without binfmt_misc the
// re-executed arm64 binary cannot start (Exec format error), so the cross
// builds' tests set PERCPU_DEATH_TEST_STYLE=fast: the child is forked and not
// re-executed, and qemu emulates fork.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

inline void percpuDeathTestStyle()
{
    const char *style = std::getenv("PERCPU_DEATH_TEST_STYLE");
    GTEST_FLAG_SET(death_test_style, style && *style ? style : "threadsafe");
}

// True when death tests run in a fork of this process (the "fast" style):
// a test that needs a fresh process, whose start-up reads settings anew,
// cannot run and is skipped with this reason.
inline bool percpuDeathTestsForkOnly()
{
    const char *style = std::getenv("PERCPU_DEATH_TEST_STYLE");
    return style && std::string(style) == "fast";
}
#define PERCPU_SKIP_UNLESS_FRESH_PROCESS()                                                         \
    do {                                                                                           \
        if (percpuDeathTestsForkOnly())                                                            \
            GTEST_SKIP() << "needs a freshly started process (gtest re-executes the binary), "     \
                            "which qemu-user cannot start without binfmt_misc";                    \
    } while (0)
