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

#if PERCPU_THIRDPARTY_JPEG
#include <cstdio>
#include <jpeglib.h>
#include <thread>
#endif

#include <dlfcn.h>

#include <atomic>
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

#if PERCPU_THIRDPARTY_JPEG
// A gradient with some texture, encoded by the process's libjpeg.so.
std::vector<unsigned char> encodeSample(int w, int h)
{
    std::vector<unsigned char> rgb(static_cast<size_t>(w) * h * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            unsigned char *p = &rgb[(static_cast<size_t>(y) * w + x) * 3];
            p[0] = static_cast<unsigned char>(x * 255 / w);
            p[1] = static_cast<unsigned char>(y * 255 / h);
            p[2] = static_cast<unsigned char>((x * y) & 0xff);
        }
    jpeg_compress_struct c{};
    jpeg_error_mgr err{};
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *mem = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &mem, &size);
    c.image_width = w;
    c.image_height = h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = &rgb[static_cast<size_t>(c.next_scanline) * w * 3];
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::vector<unsigned char> out(mem, mem + size);
    free(mem);
    return out;
}

std::vector<unsigned char> decodeWithProcess(const std::vector<unsigned char> &jpg)
{
    jpeg_decompress_struct d{};
    jpeg_error_mgr err{};
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, jpg.data(), jpg.size());
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    std::vector<unsigned char> out(static_cast<size_t>(d.output_width) * d.output_height * 3);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = &out[static_cast<size_t>(d.output_scanline) * d.output_width * 3];
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return out;
}

using JpegDecode = long (*)(const unsigned char *, unsigned long, unsigned char *, unsigned long, int *, int *);

TEST(Jpeg, ModuleDecodesFromSeveralThreadsAsTheSharedLibraryDoes)
{
    const std::vector<unsigned char> jpg = encodeSample(96, 64);
    const std::vector<unsigned char> expected = decodeWithProcess(jpg);
    pcpu_module *lib = openFromEnv("PERCPU_JPEG_MODULE", PCPU_RTLD_GLOBAL);
    ASSERT_NE(lib, nullptr);
    pcpu_module *glue = openFromEnv("PERCPU_JPEG_GLUE", PCPU_RTLD_DEEPBIND);
    ASSERT_NE(glue, nullptr);
    void *moduleReadHeader = pcpu_dlsym(lib, "jpeg_read_header");
    ASSERT_NE(moduleReadHeader, nullptr);
    EXPECT_NE(moduleReadHeader, reinterpret_cast<void *>(&jpeg_read_header));
    EXPECT_EQ(reinterpret_cast<void *(*)()>(pcpu_dlsym(glue, "jpeg_glue_read_header_fn"))(), moduleReadHeader)
        << "the glue decodes with the module's libjpeg";
    pcpu_module_info info{};
    ASSERT_EQ(pcpu_module_get_info(lib, &info), 0);
    EXPECT_GT(info.tls_bytes, 0u) << "libjpeg-turbo's simd_support is thread-local";
    auto decode = reinterpret_cast<JpegDecode>(pcpu_dlsym(glue, "jpeg_glue_decode"));
    ASSERT_NE(decode, nullptr);
    std::atomic<int> wrong{0}, withBlock{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            std::vector<unsigned char> out(expected.size() + 64);
            for (int i = 0; i < 10; ++i) {
                int w = 0, h = 0;
                long n = decode(jpg.data(), jpg.size(), out.data(), out.size(), &w, &h);
                if (n != static_cast<long>(expected.size()) || w != 96 || h != 64 ||
                    memcmp(out.data(), expected.data(), expected.size()) != 0)
                    ++wrong;
            }
            pcpu_module_info mine{};
            if (pcpu_module_get_info(lib, &mine) == 0 && mine.tls_blocks >= 1)
                ++withBlock;
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(withBlock.load(), 8);
    ASSERT_EQ(pcpu_module_get_info(lib, &info), 0);
    EXPECT_EQ(info.tls_blocks, 0u) << "the threads' blocks went with them";
    EXPECT_EQ(pcpu_dlclose(glue), 0) << pcpu_dlerror();
    EXPECT_EQ(pcpu_dlclose(lib), 0) << pcpu_dlerror();
}

// Debian's libuuid.a is built -fPIE: its thread-local state is reached by
// local exec, refused before anything is mapped, with the remedy.
TEST(Uuid, AFpieLibraryIsRefusedWithTheRemedy)
{
    const char *path = getenv("PERCPU_UUID_MODULE");
    ASSERT_NE(path, nullptr);
    pcpu_loader_stats before{}, after{};
    pcpu_loader_get_stats(&before);
    EXPECT_EQ(pcpu_dlopen(path, 0), nullptr);
    const char *err = pcpu_dlerror();
    ASSERT_NE(err, nullptr);
    const std::string e = err;
    EXPECT_NE(e.find("R_X86_64_TPOFF32 against '"), std::string::npos) << e;
    EXPECT_NE(e.find("local-exec"), std::string::npos) << e;
    EXPECT_NE(e.find("compile the module with -fPIC, or -ftls-model=global-dynamic"), std::string::npos) << e;
    pcpu_loader_get_stats(&after);
    EXPECT_EQ(after.modules, before.modules);
    EXPECT_EQ(after.mapped_bytes, before.mapped_bytes);
    EXPECT_EQ(after.tls_blocks, before.tls_blocks);
}
#endif

} // namespace

