#!/usr/bin/env bash
# Objects with compressed debug sections (-g -gz=zlib and -gz=zstd:
# SHF_COMPRESSED, relocated as their uncompressed contents): check reads them
# clean, patch leaves the compressed sections intact (the DWARF still
# verifies), and the loader loads them, patched or not.
#   compressed_debug.sh ELFPATCH PERCPU_LOAD CLANG LLVM_BINDIR SOURCE_DIR
set -euo pipefail
tool=$1 load=$2 clang=$3 bindir=$4 src=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "compressed debug: $*" >&2; exit 1; }
# clang before 16 has no -gz=zstd: take LLVM 19's for it when this one lacks it.
cc_for() {
  if [ "$1" = zstd ] && ! "$clang" -gz=zstd -c -x c /dev/null -o /dev/null 2>/dev/null; then
    echo /usr/lib/llvm-19/bin/clang
  else
    echo "$clang"
  fi
}
for gz in zlib zstd; do
  o="$tmp/$gz.o"
  "$(cc_for $gz)" -O2 -fPIC -g -gz=$gz -I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include" \
    -c "$src/testdata/modules/counters.c" -o "$o"
  headers=$("$bindir/llvm-readelf" -S -W "$o")
  grep -q '\.debug_info .* C ' <<<"$headers" || fail "-gz=$gz did not compress .debug_info"
  out=$("$tool" check "$o" 2>&1) || fail "check $gz: $out"
  "$tool" patch "$o" -o "$tmp/$gz.patched.o" || fail "patch $gz"
  before=$("$bindir/llvm-readelf" -x .debug_info "$o" | tail -n +2)
  after=$("$bindir/llvm-readelf" -x .debug_info "$tmp/$gz.patched.o" | tail -n +2)
  [ "$before" = "$after" ] || fail "patch changed the compressed .debug_info ($gz)"
  dwarfdump=$bindir/llvm-dwarfdump
  [ $gz = zstd ] && [ -x /usr/lib/llvm-19/bin/llvm-dwarfdump ] && dwarfdump=/usr/lib/llvm-19/bin/llvm-dwarfdump
  "$dwarfdump" --verify "$tmp/$gz.patched.o" >/dev/null || fail "DWARF of the patched $gz object does not verify"
  for m in "$o" "$tmp/$gz.patched.o"; do
    out=$("$load" --call counters_check_init "$m" 2>&1) || fail "percpu-load $m: $out"
  done
done
echo "compressed debug ok"
