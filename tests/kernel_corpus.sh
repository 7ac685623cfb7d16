#!/usr/bin/env bash
# The kernel's own modules through check, layout and patch: Debian 12's
# linux-image-6.1.0-*-{amd64,arm64}-unsigned (about 4,000 and 3,700 .ko),
# downloaded once into CACHE (scripts/fetch-kernel-modules.sh).  For every
# module with per-CPU data, and a sample of 200 without:
#   - check (kernel model, chosen automatically) gives no error;
#   - layout agrees with the section and symbol tables (block size is the
#     .data..percpu sh_size; one variable per symbol defined there, mapping
#     symbols aside);
#   - layout is identical before and after patch, the patched module checks
#     clean against the baseline taken before, and readelf, llvm-readobj,
#     ld -r and ld.lld -r accept it; modules without per-CPU data are left
#     byte for byte.
# Exit 77 (skipped, and said why) when the packages cannot be downloaded.
#   kernel_corpus.sh ELFPATCH LLVM_BINDIR CACHE SOURCE_DIR
set -euo pipefail
tool=$1 bindir=$2 cache=$3 src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "kernel corpus: $*" >&2; exit 1; }

for arch in amd64 arm64; do
  set +e
  root=$("$src/scripts/fetch-kernel-modules.sh" $arch "$cache")
  status=$?
  set -e
  if [ $status = 77 ]; then
    echo "kernel corpus: SKIPPED: the $arch kernel package cannot be downloaded here"
    exit 77
  fi
  [ $status = 0 ] || fail "fetching the $arch modules failed"
  if [ $arch = amd64 ]; then ld_r=(ld -r); else
    ld_r=(aarch64-linux-gnu-ld -r)
    command -v aarch64-linux-gnu-ld >/dev/null || fail "aarch64-linux-gnu-ld missing (binutils-aarch64-linux-gnu)"
  fi
  mapfile -t all < <(find "$root/lib/modules" -name '*.ko' | sort)
  mapfile -t pcpu < <(printf '%s\0' "${all[@]}" | xargs -0 grep -l -a -F '.data..percpu' | sort)
  mapfile -t plain < <(printf '%s\n' "${all[@]}" | grep -vxF -f <(printf '%s\n' "${pcpu[@]}") | awk 'NR % 17 == 0' | head -200)
  [ ${#pcpu[@]} -ge 10 ] || fail "$arch: only ${#pcpu[@]} modules with per-CPU data in $root"

  out=$("$tool" check "${pcpu[@]}" "${plain[@]}" 2>&1) || fail "$arch: check failed:
$out"
  ! grep -q ': error: ' <<<"$out" || fail "$arch: check reported errors:
$out"

  n=0
  for ko in "${pcpu[@]}"; do
    name=$(basename "$ko" .ko)
    "$tool" layout --format json "$ko" > "$tmp/before.json" || fail "$arch: layout $ko"
    size=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["block"]["size"])' "$tmp/before.json")
    vars=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["variables"]))' "$tmp/before.json")
    shsize=$("$bindir/llvm-readelf" -S -W "$ko" | awk '$2 == ".data..percpu" {print $6}')
    shsize=$((16#${shsize:-0}))
    [ "$size" = "$shsize" ] || fail "$arch: $name: layout size $size, .data..percpu sh_size $shsize"
    syms=$("$bindir/llvm-nm" --format=sysv "$ko" | awk -F'|' '{gsub(/ /, "", $1); gsub(/ /, "", $7)}
      $7 == ".data..percpu" && $1 !~ /^\$/ && $1 != "" {n++} END {print n + 0}')
    [ "$vars" = "$syms" ] || fail "$arch: $name: layout lists $vars variables, the symbol table $syms"
    "$tool" patch "$ko" -o "$tmp/p.ko" || fail "$arch: patch $ko"
    "$tool" layout --format json "$tmp/p.ko" > "$tmp/after.json"
    [ "$(grep -v '"file"' "$tmp/before.json")" = "$(grep -v '"file"' "$tmp/after.json")" ] ||
      fail "$arch: $name: layout changed across patch: $(diff "$tmp/before.json" "$tmp/after.json" | head)"
    out=$("$tool" check --baseline "$tmp/before.json" "$tmp/p.ko" 2>&1) || fail "$arch: $name: patched: $out"
    ! grep -q ': error: ' <<<"$out" || fail "$arch: $name: patched: $out"
    err=$(readelf -a -W "$tmp/p.ko" 2>&1 >/dev/null) || fail "$arch: $name: readelf rejects the patched module"
    [ -z "$err" ] || fail "$arch: $name: readelf: $err"
    err=$("$bindir/llvm-readobj" --all "$tmp/p.ko" 2>&1 >/dev/null) || fail "$arch: $name: llvm-readobj rejects it"
    [ -z "$err" ] || fail "$arch: $name: llvm-readobj: $err"
    "${ld_r[@]}" "$tmp/p.ko" -o "$tmp/r.o" || fail "$arch: $name: ${ld_r[*]} rejects the patched module"
    "$bindir/ld.lld" -r "$tmp/p.ko" -o "$tmp/r.o" || fail "$arch: $name: ld.lld -r rejects the patched module"
    n=$((n + 1))
  done
  for ko in "${plain[@]}"; do
    "$tool" patch "$ko" -o "$tmp/p.ko" || fail "$arch: patch $ko"
    cmp -s "$ko" "$tmp/p.ko" || fail "$arch: patch changed $ko, which has no per-CPU data"
  done
  echo "kernel corpus: $arch: ${#all[@]} modules; $n with per-CPU data checked, laid out and patched; ${#plain[@]} without, unchanged"
done
echo "kernel corpus ok"
