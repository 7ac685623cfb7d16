#!/usr/bin/env bash
# percpu-elfpatch built for another architecture (run under its emulator)
# gives the same answers as the build machine's on the same inputs:
# `check --format json`, `layout --format json` and `patch` (plain and
# --indirect), compared byte for byte.
#   cross_elfpatch_same.sh CROSS_TOOL NATIVE_TOOL CLANG SOURCE_DIR OBJECT...
# CROSS_TOOL is a command this machine runs (a wrapper around qemu-user).
# Exits 77 (skipped) when the native tool has not been built.
set -euo pipefail
cross=$1 native=$2 clang=$3 src=$4
shift 4
if [ ! -x "$native" ]; then
  echo "skipped: no native percpu-elfpatch at $native (build the default preset first)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# x86-64 objects too, and the kernel-style modules of both architectures.
inputs=("$@")
for m in counters user kapi_module array_export legacy_module; do
  "$clang" --target=x86_64-linux-gnu -std=c11 -O2 -fPIC -fcommon -g -I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include" \
    -c "$src/testdata/modules/$m.c" -o "$tmp/x86_$m.o"
  inputs+=("$tmp/x86_$m.o")
done
# (as tests/kernel_modules.sh builds them; x86-64 by clang here)
for f in counter helper other bug_direct bug_extern big; do
  for t in x86_64 aarch64; do
    flags=(-mgeneral-regs-only)
    [ $t = x86_64 ] && flags=(-mcmodel=kernel -mno-red-zone)
    "$clang" --target=$t-linux-gnu -O2 -fno-PIE -fno-pic -ffreestanding -fno-asynchronous-unwind-tables \
      "${flags[@]}" -I"$src/testdata/kernel/modules" -c "$src/testdata/kernel/modules/$f.c" -o "$tmp/kmod_${t}_$f.o"
    inputs+=("$tmp/kmod_${t}_$f.o")
  done
done

compared=0
fail=0
same() { # what, then the two files
  if ! cmp -s "$2" "$3"; then
    echo "DIFFERENT: $1"
    diff <(od -An -tx1 -v "$2") <(od -An -tx1 -v "$3") | head -5 || true
    fail=1
  fi
  compared=$((compared + 1))
}
run() { # out tool args...: stdout+stderr and the exit status
  local out=$1 tool=$2
  shift 2
  set +e
  "$tool" "$@" > "$out" 2>&1
  echo "exit $?" >> "$out"
  set -e
}
for obj in "${inputs[@]}"; do
  b=$tmp/$(basename "$obj" .o)_$(echo "$obj" | cksum | cut -d' ' -f1)
  for side in native cross; do
    tool=$native
    [ $side = cross ] && tool=$cross
    run "$b.check.$side" "$tool" check --format json "$obj"
    run "$b.layout.$side" "$tool" layout --format json --cpus 4 "$obj"
    # The same output path for both (messages name it), then set aside.
    run "$b.patch.$side" "$tool" patch "$obj" -o "$b.out.o"
    [ ! -e "$b.out.o" ] || mv "$b.out.o" "$b.patched.$side.o"
    run "$b.indirect.$side" "$tool" patch --indirect "$obj" -o "$b.out.o"
    [ ! -e "$b.out.o" ] || mv "$b.out.o" "$b.indirect.$side.o"
  done
  for what in check layout patch indirect; do
    same "$what $obj" "$b.$what.native" "$b.$what.cross"
  done
  for o in patched indirect; do
    if [ -e "$b.$o.native.o" ] || [ -e "$b.$o.cross.o" ]; then
      same "$o object of $obj" "$b.$o.native.o" "$b.$o.cross.o"
    fi
  done
done
# The comparison must have had something to compare: objects with per-CPU
# data, whose patched output exists.
patched=$(ls "$tmp"/*.patched.native.o 2>/dev/null | wc -l)
echo "compared $compared outputs of ${#inputs[@]} objects ($patched patched)"
[ "$patched" -ge 5 ] || { echo "too few objects were patched"; exit 1; }
[ $fail = 0 ] && echo "cross elfpatch same ok"
