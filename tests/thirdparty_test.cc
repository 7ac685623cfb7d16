// Real code nobody here wrote: zlib's, zstd's and OpenSSL's objects from
// Debian's libz.a, libzstd.a and libcrypto.a, each combined into one module
// with `percpu-elfpatch link` and loaded with pcpu_dlopen, must compute exactly
// what the system's shared libraries the host links compute (same package,
// same version, so the same bytes).
#include <percpu/loader.h>

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>
// The cross builds test zlib and zstd only (tests/Aarch64Tests.cmake).
#if PERCPU_THIRDPARTY_CRYPTO
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>
#endif
#if PERCPU_THIRDPARTY_SQLITE
#include <sqlite3.h>
#endif

#include <dlfcn.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Compress2 = int (*)(Bytef *, uLongf *, const Bytef *, uLong, int);
using Uncompress = int (*)(Bytef *, uLongf *, const Bytef *, uLong);
using Crc32 = uLong (*)(uLong, const Bytef *, uInt);
using Version = const char *(*)();

std::vector<uint8_t> sampleData()
{
    // Compressible but not trivial: text-like runs and random bytes.
    std::vector<uint8_t> v;
    std::mt19937 rng(42);
    const char *words[] = {"per-CPU ", "variable ", "module ", "offset ", "unit ", "stride "};
    while (v.size() < (1u << 20)) {
        if (rng() % 4) {
            const char *w = words[rng() % 6];
            v.insert(v.end(), w, w + strlen(w));
        } else {
            v.push_back(static_cast<uint8_t>(rng()));
        }
    }
    return v;
}

// The module whose path the test's environment names, loaded; null, with the
// failure recorded, when it cannot be.
pcpu_module *openFromEnv(const char *var, int flags = 0)
{
    const char *path = getenv(var);
    if (!path) {
        ADD_FAILURE() << var << " is not set";
        return nullptr;
    }
    pcpu_module *m = pcpu_dlopen(path, flags);
    if (!m)
        ADD_FAILURE() << pcpu_dlerror();
    return m;
}

TEST(Zlib, ModuleBuiltFromLibzBehavesLikeTheSystemZlib)
{
    pcpu_module *m = openFromEnv("PERCPU_ZLIB_MODULE");
    ASSERT_NE(m, nullptr);
    auto modCompress = reinterpret_cast<Compress2>(pcpu_dlsym(m, "compress2"));
    auto modUncompress = reinterpret_cast<Uncompress>(pcpu_dlsym(m, "uncompress"));
    auto modCrc = reinterpret_cast<Crc32>(pcpu_dlsym(m, "crc32"));
    auto modVersion = reinterpret_cast<Version>(pcpu_dlsym(m, "zlibVersion"));
    ASSERT_TRUE(modCompress && modUncompress && modCrc && modVersion);
    EXPECT_NE(reinterpret_cast<void *>(modCompress), reinterpret_cast<void *>(&compress2))
        << "the module's compress2 must be its own copy";
    EXPECT_STREQ(modVersion(), zlibVersion());

    std::vector<uint8_t> data = sampleData();
    EXPECT_EQ(modCrc(0, data.data(), static_cast<uInt>(data.size())),
              crc32(0, data.data(), static_cast<uInt>(data.size())));
    for (int level : {1, 6, 9}) {
        SCOPED_TRACE(level);
        uLongf a = compressBound(data.size()), b = a;
        std::vector<uint8_t> outMod(a), outSys(b);
        ASSERT_EQ(modCompress(outMod.data(), &a, data.data(), data.size(), level), Z_OK);
        ASSERT_EQ(compress2(outSys.data(), &b, data.data(), data.size(), level), Z_OK);
        outMod.resize(a);
        outSys.resize(b);
        EXPECT_EQ(outMod, outSys) << "compressed bytes differ";
        std::vector<uint8_t> back(data.size());
        uLongf n = back.size();
        ASSERT_EQ(modUncompress(back.data(), &n, outSys.data(), outSys.size()), Z_OK);
        EXPECT_EQ(n, data.size());
        EXPECT_EQ(back, data);
        n = back.size();
        std::fill(back.begin(), back.end(), 0);
        ASSERT_EQ(uncompress(back.data(), &n, outMod.data(), outMod.size()), Z_OK);
        EXPECT_EQ(back, data);
    }
    EXPECT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
}

using ZstdCompress = size_t (*)(void *, size_t, const void *, size_t, int);
using ZstdDecompress = size_t (*)(void *, size_t, const void *, size_t);
using ZstdIsError = unsigned (*)(size_t);
using ZstdVersion = unsigned (*)();

TEST(Zstd, ModuleBuiltFromLibzstdBehavesLikeTheSystemZstd)
{
    pcpu_module *m = openFromEnv("PERCPU_ZSTD_MODULE");
    ASSERT_NE(m, nullptr);
    auto modCompress = reinterpret_cast<ZstdCompress>(pcpu_dlsym(m, "ZSTD_compress"));
    auto modDecompress = reinterpret_cast<ZstdDecompress>(pcpu_dlsym(m, "ZSTD_decompress"));
    auto modIsError = reinterpret_cast<ZstdIsError>(pcpu_dlsym(m, "ZSTD_isError"));
    auto modVersion = reinterpret_cast<ZstdVersion>(pcpu_dlsym(m, "ZSTD_versionNumber"));
    ASSERT_TRUE(modCompress && modDecompress && modIsError && modVersion);
    EXPECT_NE(reinterpret_cast<void *>(modCompress), reinterpret_cast<void *>(&ZSTD_compress));
    EXPECT_EQ(modVersion(), ZSTD_versionNumber());

    std::vector<uint8_t> data = sampleData();
    // Level 19 runs the optimal parser (zstd_opt.o); decompression goes
    // through the hand-written x86-64 assembly of huf_decompress_amd64.S.
    for (int level : {1, 3, 19}) {
        SCOPED_TRACE(level);
        size_t bound = ZSTD_compressBound(data.size());
        std::vector<uint8_t> outMod(bound), outSys(bound);
        size_t a = modCompress(outMod.data(), bound, data.data(), data.size(), level);
        size_t b = ZSTD_compress(outSys.data(), bound, data.data(), data.size(), level);
        ASSERT_FALSE(modIsError(a));
        ASSERT_FALSE(ZSTD_isError(b));
        outMod.resize(a);
        outSys.resize(b);
        EXPECT_EQ(outMod, outSys) << "compressed bytes differ";
        std::vector<uint8_t> back(data.size());
        size_t n = modDecompress(back.data(), back.size(), outSys.data(), outSys.size());
        ASSERT_FALSE(modIsError(n));
        EXPECT_EQ(n, data.size());
        EXPECT_EQ(back, data);
    }
    // Corrupt input is an error reported by the module's own code, not a crash.
    std::vector<uint8_t> junk(64, 0x5a), back(1024);
    EXPECT_TRUE(modIsError(modDecompress(back.data(), back.size(), junk.data(), junk.size())));
    EXPECT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
}

#if PERCPU_THIRDPARTY_CRYPTO
using Digest = unsigned char *(*)(const unsigned char *, size_t, unsigned char *);
using VersionNum = unsigned long (*)();

// OpenSSL's libcrypto: perlasm assembly chosen at run time by CPUID
// (OPENSSL_ia32cap), an atexit cleanup handler that unloading runs.
TEST(Crypto, ModuleBuiltFromLibcryptoDigestsLikeTheSystemLibcrypto)
{
    pcpu_module *m = openFromEnv("PERCPU_CRYPTO_MODULE");
    ASSERT_NE(m, nullptr);
    auto modVersion = reinterpret_cast<VersionNum>(pcpu_dlsym(m, "OpenSSL_version_num"));
    ASSERT_NE(modVersion, nullptr);
    EXPECT_EQ(modVersion(), OpenSSL_version_num());
    struct Algo {
        const char *name;
        Digest system;
        size_t size;
    } algos[] = {{"SHA1", &SHA1, 20}, {"SHA256", &SHA256, 32}, {"SHA512", &SHA512, 64}};
    std::vector<uint8_t> data = sampleData();
    for (const Algo &a : algos) {
        SCOPED_TRACE(a.name);
        auto mod = reinterpret_cast<Digest>(pcpu_dlsym(m, a.name));
        ASSERT_NE(mod, nullptr);
        EXPECT_NE(reinterpret_cast<void *>(mod), reinterpret_cast<void *>(a.system));
        for (size_t len : {size_t{0}, size_t{3}, size_t{1000}, data.size()}) {
            std::vector<uint8_t> x(a.size, 0), y(a.size, 1);
            mod(data.data(), len, x.data());
            a.system(data.data(), len, y.data());
            EXPECT_EQ(x, y) << len << " bytes";
        }
    }
    EXPECT_EQ(pcpu_dlclose(m), 0) << pcpu_dlerror();
}

#endif // PERCPU_THIRDPARTY_CRYPTO

#if PERCPU_THIRDPARTY_SQLITE
// SQLite's objects (libsqlite3.a) as one module and a glue module that uses
// them: the glue exports nothing and SQLite has no EXPORT_SYMBOL, so the glue
// binds to SQLite only through PCPU_RTLD_GLOBAL; the process links
// libsqlite3.so too, and PCPU_RTLD_DEEPBIND decides which copy wins.
using GlueSum = long long (*)(int);
using GlueOpenFn = void *(*)();

TEST(Sqlite, GlobalModuleServesAGlueModuleAndDeepbindPrefersItOverTheProcess)
{
    void *processOpen = dlsym(RTLD_DEFAULT, "sqlite3_open");
    ASSERT_NE(processOpen, nullptr) << "the test links libsqlite3.so";
    ASSERT_EQ(reinterpret_cast<void *>(&sqlite3_open), processOpen);

    // Without PCPU_RTLD_GLOBAL the library's definitions serve nobody: the
    // glue binds to the process's copy, even with DEEPBIND.
    pcpu_module *local = openFromEnv("PERCPU_SQLITE_MODULE");
    ASSERT_NE(local, nullptr);
    pcpu_module *glue = openFromEnv("PERCPU_SQLITE_GLUE", PCPU_RTLD_DEEPBIND);
    ASSERT_NE(glue, nullptr);
    EXPECT_EQ(reinterpret_cast<GlueOpenFn>(pcpu_dlsym(glue, "sqlite_glue_open_fn"))(), processOpen);
    EXPECT_EQ(pcpu_dlclose(glue), 0) << pcpu_dlerror();
    EXPECT_EQ(pcpu_dlclose(local), 0) << pcpu_dlerror();

    pcpu_module *lib = openFromEnv("PERCPU_SQLITE_MODULE", PCPU_RTLD_GLOBAL);
    ASSERT_NE(lib, nullptr);
    void *moduleOpen = pcpu_dlsym(lib, "sqlite3_open");
    ASSERT_NE(moduleOpen, nullptr);
    EXPECT_NE(moduleOpen, processOpen);

    // GLOBAL without DEEPBIND: the process comes first, as dlopen's global
    // scope puts the executable's libraries before those opened later.
    pcpu_module *shallow = openFromEnv("PERCPU_SQLITE_GLUE");
    ASSERT_NE(shallow, nullptr);
    EXPECT_EQ(reinterpret_cast<GlueOpenFn>(pcpu_dlsym(shallow, "sqlite_glue_open_fn"))(), processOpen);
    EXPECT_EQ(reinterpret_cast<GlueSum>(pcpu_dlsym(shallow, "sqlite_glue_sum"))(1000), 500500);
    // Opened again while loaded, it is the same module, with the first
    // open's binding (as dlopen): closed first, it loads anew with DEEPBIND.
    EXPECT_EQ(openFromEnv("PERCPU_SQLITE_GLUE", PCPU_RTLD_DEEPBIND), shallow);
    EXPECT_EQ(pcpu_dlclose(shallow), 0) << pcpu_dlerror();
    EXPECT_EQ(pcpu_dlclose(shallow), 0) << pcpu_dlerror();

    // GLOBAL + DEEPBIND: the module's copy, and it works on its own.
    pcpu_module *deep = openFromEnv("PERCPU_SQLITE_GLUE", PCPU_RTLD_DEEPBIND);
    ASSERT_NE(deep, nullptr);
    EXPECT_EQ(reinterpret_cast<GlueOpenFn>(pcpu_dlsym(deep, "sqlite_glue_open_fn"))(), moduleOpen);
    EXPECT_EQ(reinterpret_cast<GlueSum>(pcpu_dlsym(deep, "sqlite_glue_sum"))(1000), 500500);
    auto version = reinterpret_cast<const char *(*)()>(pcpu_dlsym(deep, "sqlite_glue_version"));
    EXPECT_STREQ(version(), sqlite3_libversion());

    EXPECT_EQ(pcpu_dlclose(deep), 0) << pcpu_dlerror();
    EXPECT_EQ(pcpu_dlclose(lib), 0) << pcpu_dlerror();
}

#endif // PERCPU_THIRDPARTY_SQLITE

} // namespace

