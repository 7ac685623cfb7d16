#!/usr/bin/env bash
# Compiles the runtime, the header test and the loader for aarch64-linux-gnu
# and checks that the objects are AArch64, carry rseq critical-section
# descriptors, and leave no short-range branch to the abort handlers.
#   aarch64_compile.sh CLANG SOURCE_DIR
set -euo pipefail
clang=$1 src=$2
clangxx=${clang%clang}clang++
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sysroot=/usr/aarch64-linux-gnu
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include" -I"$src/src/loader/include")
common=(--target=aarch64-linux-gnu --sysroot="$sysroot" -O2 -Wall -Wextra -Werror -fPIC)
gxx=$(ls -d "$sysroot"/include/c++/* | sort -V | tail -1)
cxxinc=(-isystem "$gxx" -isystem "$sysroot/include/c++/$(basename "$gxx")/aarch64-linux-gnu" -isystem "$gxx/aarch64-linux-gnu")
for f in src/runtime/core.cc src/runtime/cpus.cc src/runtime/space.cc src/runtime/guard.cc src/runtime/counter.cc \
         src/runtime/pool.cc src/runtime/ref.cc src/runtime/shared.cc src/runtime/program.cc src/runtime/library.cc \
         arch/aarch64/fault.cc; do
  "$clangxx" "${common[@]}" -std=c++20 -nostdinc++ "${cxxinc[@]}" "${inc[@]}" -I"$src/src/runtime" \
    -fno-exceptions -fno-rtti -c "$src/$f" -o "$tmp/$(basename "${f%.cc}").o"
done
# The shared runtime's variants (libpercpu.so.0).
for f in src/runtime/core.cc src/runtime/shared.cc src/runtime/anchor.cc; do
  "$clangxx" "${common[@]}" -std=c++20 -nostdinc++ "${cxxinc[@]}" "${inc[@]}" -I"$src/src/runtime" \
    -DPCPU_SHARED_RUNTIME=1 -fno-exceptions -fno-rtti -c "$src/$f" -o "$tmp/$(basename "${f%.cc}").so.o"
done
"$clang" "${common[@]}" -std=c11 -pedantic-errors "${inc[@]}" -c "$src/tests/header_c.c" -o "$tmp/header_c.o"
"$clangxx" "${common[@]}" -std=c++20 -nostdinc++ "${cxxinc[@]}" "${inc[@]}" -c "$src/tests/header_cxx.cpp" -o "$tmp/header_cxx.o"
# The kernel-API conformance code: every this_cpu_* form (and, or, 128-bit).
"$clang" "${common[@]}" -std=gnu11 "${inc[@]}" -c "$src/testdata/kernel/kapi.c" -o "$tmp/kapi.o"
"$clangxx" "${common[@]}" -std=c++20 -nostdinc++ "${cxxinc[@]}" "${inc[@]}" -c "$src/testdata/kernel/kapi_cxx.cpp" -o "$tmp/kapi_cxx.o"
# The loader (machine-independent but for its arch parts) compiles too.
llvminc=$(dirname "$clang")/../include
for f in "$src"/src/loader/*.cpp "$src"/src/loader/passes/*.cpp; do
  "$clangxx" "${common[@]}" -std=c++20 -nostdinc++ "${cxxinc[@]}" "${inc[@]}" -I"$src/src/elfpatch/include" \
    -isystem "$llvminc" -Wno-deprecated-declarations -D__STDC_CONSTANT_MACROS -D__STDC_LIMIT_MACROS \
    -fsyntax-only "$f"
done
"$clangxx" "${common[@]}" -std=c++20 -nostdinc++ "${cxxinc[@]}" "${inc[@]}" -I"$src/src/elfpatch/include" \
  -I"$src/src/loader" -isystem "$llvminc" -c "$src/arch/aarch64/HostTarget.cpp" -o "$tmp/host_target.o"
readelf=$(dirname "$clang")/llvm-readelf
for o in "$tmp"/*.o; do
  hdr=$("$readelf" -h "$o")
  [[ $hdr == *AArch64* ]] || { echo "$o is not AArch64"; exit 1; }
done
sections=$("$readelf" -S "$tmp/header_c.o")
[[ $sections == *__rseq_cs* ]] || { echo "no __rseq_cs section in header_c.o"; exit 1; }
[[ $sections == *__rseq_failure* ]] || { echo "no __rseq_failure section in header_c.o"; exit 1; }
# Branches into __rseq_failure must reach wherever a linker puts it: no
# +-32 KiB TBZ/TBNZ or +-1 MiB conditional branch may cross to it.
for o in header_c kapi; do
  relocs=$("$readelf" -r "$tmp/$o.o")
  if grep -E "R_AARCH64_(TSTBR14|CONDBR19)" <<<"$relocs"; then
    echo "short-range branch relocations in $o.o (see above)"
    exit 1
  fi
done
echo "aarch64 ok"
