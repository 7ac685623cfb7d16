//===- elfpatch_fuzz.cpp - libFuzzer harness over the object reader and check ---===//
//
// Any input: readObject must fail with a diagnostic or succeed; on success
// the checks, the layout report and (for relocatable objects) patch, plain
// and --indirect, must run without crashing, and what patch writes must read
// back as a valid object with the same block size.
//===----------------------------------------------------------------------===//
#include "percpu/elfpatch/Check.h"
#include "percpu/elfpatch/Layout.h"
#include "percpu/elfpatch/Patch.h"
#include "percpu/elfpatch/Report.h"

#include "llvm/Support/MemoryBufferRef.h"

#include <cstdio>
#include <cstdlib>

using namespace percpu::elfpatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
    auto obj = readObject("fuzz.o", llvm::MemoryBufferRef(bytes, "fuzz.o"));
    if (!obj) {
        llvm::consumeError(obj.takeError());
        return 0;
    }
    CheckOptions opts;
    opts.maxBlock = 1 << 20;
    (void)runChecks({*obj}, opts);
    (void)layoutText(buildLayoutReport(*obj, 4, 64));
    if (!obj->isRelocatable())
        return 0;
    // A NOBITS per-CPU section's size is not bounded by the file: patch
    // materialises a block that mixes it with data, up to the 1 GiB it
    // accepts.  That is memory, not a bug; beyond 64 MiB the harness stops
    // here so as to stay within the fuzzer's RSS limit.
    if (planBlock(*obj).size > (uint64_t{64} << 20))
        return 0;
    for (bool indirect : {false, true}) {
        PatchOptions p;
        p.indirect = indirect;
        auto r = patchObject(*obj, llvm::ArrayRef<uint8_t>(data, size), p);
        if (!r) {
            llvm::consumeError(r.takeError());
            continue;
        }
        llvm::StringRef out(reinterpret_cast<const char *>(r->bytes.data()), r->bytes.size());
        auto back = readObject("patched.o", llvm::MemoryBufferRef(out, "patched.o"));
        if (!back) {
            fprintf(stderr, "patch wrote an object that does not read back: %s\n",
                    llvm::toString(back.takeError()).c_str());
            abort();
        }
        if (r->changed && planBlock(*back).size != r->layout.size) {
            fprintf(stderr, "patched block size %llu != planned %llu\n",
                    (unsigned long long)planBlock(*back).size, (unsigned long long)r->layout.size);
            abort();
        }
    }
    return 0;
}
