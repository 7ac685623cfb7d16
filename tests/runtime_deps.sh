#!/usr/bin/env bash
# What every process that uses the shared runtime pays for at start-up:
# libpercpu.so.0 needs only the C library and the dynamic loader (no
# libstdc++, libm or libgcc_s to map and relocate: a function-local static
# with a guard was enough to pull libstdc++ in), and carries no libgcc
# __cpu_indicator_init, a constructor running some twenty cpuid
# instructions in every process (__builtin_cpu_supports links it).
#   runtime_deps.sh LIBPERCPU_SO LLVM_BINDIR
set -euo pipefail
so=$1 bindir=$2
fail() { echo "runtime deps: $*" >&2; exit 1; }
needed=$("$bindir/llvm-readelf" -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
[ -n "$needed" ] || fail "no DT_NEEDED read from $so"
for lib in $needed; do
  case $lib in
    libc.so.6 | ld-linux-x86-64.so.2 | ld-linux-aarch64.so.1) ;;
    *) fail "$so needs $lib (needed: $needed)" ;;
  esac
done
syms=$("$bindir/llvm-nm" -a "$so")
[ -n "$syms" ] || fail "no symbols read from $so"
if grep -q '__cpu_indicator_init\|__cpu_model' <<<"$syms"; then
  fail "$so carries libgcc's CPU feature constructor: $(grep '__cpu_indicator_init\|__cpu_model' <<<"$syms")"
fi
echo "runtime deps ok"
