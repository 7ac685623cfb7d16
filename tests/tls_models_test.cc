// Every thread-local model a module may use (testdata/modules/<arch>_tls_models.s,
// one function per model returning the address it computes), loaded by the
// loader: all models agree on the module's variable, with pcpu_dlsym and its
// initial value, in every thread, and on libc's errno with the host's.
#include <percpu/loader.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using Addr = void *(*)();

struct Models {
    std::vector<std::pair<const char *, Addr>> own, process;
};

Models models(pcpu_module *m)
{
    Models r;
    for (const char *n : {"gd_addr", "ld_addr", "ld64_addr", "desc_addr"}) {
        auto f = reinterpret_cast<Addr>(pcpu_dlsym(m, n));
        EXPECT_NE(f, nullptr) << n;
        if (f)
            r.own.emplace_back(n, f);
    }
    for (const char *n : {"gd_errno", "desc_errno", "ie_errno"}) {
        auto f = reinterpret_cast<Addr>(pcpu_dlsym(m, n));
        EXPECT_NE(f, nullptr) << n;
        if (f)
            r.process.emplace_back(n, f);
    }
    return r;
}

void expectAgreement(pcpu_module *m, const Models &r)
{
    void *tv2 = pcpu_dlsym(m, "tv2");
    ASSERT_NE(tv2, nullptr);
    EXPECT_EQ(*static_cast<long *>(tv2), 0x2222);
    for (const auto &[name, f] : r.own)
        EXPECT_EQ(f(), tv2) << name;
    for (const auto &[name, f] : r.process)
        EXPECT_EQ(f(), static_cast<void *>(&errno)) << name;
}

TEST(TlsModels, EveryModelFindsTheSameVariableInEveryThread)
{
    const char *path = getenv("PERCPU_TLS_MODELS");
    ASSERT_NE(path, nullptr) << "PERCPU_TLS_MODELS names the object";
    pcpu_module *m = pcpu_dlopen(path, 0);
    ASSERT_NE(m, nullptr) << pcpu_dlerror();
    const Models r = models(m);
    ASSERT_EQ(r.own.size() + r.process.size(), 7u);
    expectAgreement(m, r);
    void *mine = pcpu_dlsym(m, "tv2");
    *static_cast<long *>(mine) = 5;
    for (int t = 0; t < 4; ++t)
        std::thread([&] {
            expectAgreement(m, r);
            EXPECT_NE(pcpu_dlsym(m, "tv2"), mine);
        }).join();
    EXPECT_EQ(*static_cast<long *>(mine), 5);
    EXPECT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
}

} // namespace
