#!/usr/bin/env bash
# Compiles the runtime and the header test for aarch64-linux-gnu and checks
# that the objects are AArch64 and carry rseq critical-section descriptors.
#   aarch64_compile.sh CLANG SOURCE_DIR
set -euo pipefail
clang=$1 src=$2
clangxx=${clang%clang}clang++
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sysroot=/usr/aarch64-linux-gnu
inc=(-I"$src/src/runtime/include" -I"$src/src/loader/include" -I"$src/arch/aarch64/include" -I"$src/arch/x86_64/include")
common=(--target=aarch64-linux-gnu --sysroot="$sysroot" -O2 -Wall -Wextra -Werror -fPIC)
gxx=$(ls -d "$sysroot"/include/c++/* | sort -V | tail -1)
cxxinc=(-isystem "$gxx" -isystem "$sysroot/include/c++/$(basename "$gxx")/aarch64-linux-gnu" -isystem "$gxx/aarch64-linux-gnu")
for f in core.cc space.cc; do
  "$clangxx" "${common[@]}" -std=c++20 -nostdinc++ "${cxxinc[@]}" "${inc[@]}" \
    -fno-exceptions -fno-rtti -c "$src/src/runtime/$f" -o "$tmp/${f%.cc}.o"
done
"$clang" "${common[@]}" -std=c11 -pedantic-errors "${inc[@]}" -c "$src/tests/header_c.c" -o "$tmp/header_c.o"
"$clangxx" "${common[@]}" -std=c++20 -nostdinc++ "${cxxinc[@]}" "${inc[@]}" -c "$src/tests/header_cxx.cpp" -o "$tmp/header_cxx.o"
readelf=$(dirname "$clang")/llvm-readelf
for o in "$tmp"/*.o; do
  hdr=$("$readelf" -h "$o")
  [[ $hdr == *AArch64* ]] || { echo "$o is not AArch64"; exit 1; }
done
sections=$("$readelf" -S "$tmp/header_c.o")
[[ $sections == *__rseq_cs* ]] || { echo "no __rseq_cs section in header_c.o"; exit 1; }
[[ $sections == *__rseq_failure* ]] || { echo "no __rseq_failure section in header_c.o"; exit 1; }
echo "aarch64 ok"
