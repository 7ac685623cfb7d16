#!/usr/bin/env bash
# patch round-trip: for gcc and clang, at -O0/-O2 with -fPIE, -fPIC and
# -fno-pic, a host linked (GNU ld and ld.lld) with the module as compiled,
# patched, and patched --indirect prints exactly the same; patch is
# idempotent and deterministic; readelf and llvm-readobj accept the output;
# --indirect leaves no PC-relative reference to per-CPU data; objects without
# per-CPU data pass through unchanged; `link` combines objects.
#   roundtrip.sh TOOL LLVM_BINDIR SRC_DIR RUNTIME_LIB PERCPU_LD CC CXX
set -euo pipefail
tool=$1 bindir=$2 src=$3 lib=$4 script=$5 gcc=$6 gxx=$7
clang=$bindir/clang clangxx=$bindir/clang++
data=$src/testdata/elfpatch/roundtrip
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "roundtrip: FAIL: $*" >&2; exit 1; }
checked=0
refused=0

readers_accept() { # $1: object
  local err
  err=$(readelf -a -W "$1" 2>&1 >/dev/null) || fail "readelf rejects $1"
  [ -z "$err" ] || fail "readelf complains about $1: $err"
  err=$("$bindir/llvm-readobj" --all "$1" 2>&1 >/dev/null) || fail "llvm-readobj rejects $1"
  [ -z "$err" ] || fail "llvm-readobj complains about $1: $err"
}

no_pcrel_to_percpu() { # $1: object made with --indirect
  local left names
  # Per-CPU symbols carry their C names: the ones defined in the block.
  names=$("$bindir/llvm-nm" --format=sysv "$1" | awk -F'|' '$7 ~ /\.data\.\.?percpu/ {gsub(/ /, "", $1); print $1}' | paste -sd'|')
  names=${names:-.data..percpu}
  left=$("$bindir/llvm-objdump" -dr "$1" | grep -E "R_X86_64_(PC32|PLT32|PC64|GOTPCRELX|REX_GOTPCRELX)[[:space:]]+(\.data\.\.percpu|($names)([-+]|\$))" || true)
  [ -z "$left" ] || fail "--indirect left PC-relative per-CPU references in $1:
$left"
}

run_host() { # $1: compiler driver, $2: link flags, $3: linker, $4...: objects
  local cc=$1 lflags=$2 ld=$3; shift 3
  local exe="$tmp/host.$RANDOM"
  # shellcheck disable=SC2086
  "$cc" $lflags -fuse-ld="$ld" "$@" "$lib" -lstdc++ -Wl,-T,"$script" -o "$exe" || fail "link $* with $ld"
  "$exe"
}

for compiler in gcc clang; do
  for mode in "-O0 -fPIE" "-O2 -fPIE" "-O2 -fPIC" "-O0 -fno-pic" "-O2 -fno-pic"; do
    if [ $compiler = gcc ]; then cc=$gcc cxx=$gxx; else cc=$clang cxx=$clangxx; fi
    lflags="-pie"; [[ $mode == *no-pic* ]] && lflags="-no-pie"
    d="$tmp/$compiler${mode// /}"; mkdir -p "$d"
    # shellcheck disable=SC2086
    "$cc" $mode -g "${inc[@]}" -c "$data/module.c" -o "$d/m.o"
    # shellcheck disable=SC2086
    "$cc" $mode "${inc[@]}" -c "$data/host.c" -o "$d/h.o"
    # shellcheck disable=SC2086
    "$cxx" $mode -std=c++20 "${inc[@]}" -c "$data/module_cxx.cc" -o "$d/x.o"
    for obj in m x; do
      "$tool" patch "$d/$obj.o" -o "$d/$obj.p.o"
      "$tool" patch "$d/$obj.p.o" -o "$d/$obj.pp.o"
      cmp -s "$d/$obj.p.o" "$d/$obj.pp.o" || fail "$compiler $mode $obj: patch of a patched object changed it"
      "$tool" patch "$d/$obj.o" -o "$d/$obj.p2.o"
      cmp -s "$d/$obj.p.o" "$d/$obj.p2.o" || fail "$compiler $mode $obj: patch is not deterministic"
      readers_accept "$d/$obj.p.o"
      sections=$("$bindir/llvm-readelf" -S "$d/$obj.p.o" | grep -c '\.data\.\.percpu' || true)
      # .data..percpu and .rela.data..percpu at most
      [ "$sections" -le 2 ] || fail "$compiler $mode $obj: more than one per-CPU section after patch"
      # -fno-pic code may hold 32-bit absolute addresses (gcc does; clang
      # mostly uses RIP-relative ones): then --indirect must refuse with a
      # direct-access diagnostic and write nothing.
      if "$tool" patch --indirect "$d/$obj.o" -o "$d/$obj.i.o" 2> "$d/ind.err"; then
        "$tool" patch --indirect "$d/$obj.i.o" -o "$d/$obj.ii.o"
        cmp -s "$d/$obj.i.o" "$d/$obj.ii.o" || fail "$compiler $mode $obj: --indirect is not idempotent"
        readers_accept "$d/$obj.i.o"
        no_pcrel_to_percpu "$d/$obj.i.o"
      else
        [[ $mode == *no-pic* ]] || fail "$compiler $mode $obj: --indirect failed: $(cat "$d/ind.err")"
        grep -q 'a 32-bit absolute address.*\[direct-access\]' "$d/ind.err" ||
          fail "$compiler $mode $obj: unexpected --indirect failure: $(cat "$d/ind.err")"
        [ ! -e "$d/$obj.i.o" ] || fail "--indirect wrote an output after failing"
        cp "$d/$obj.p.o" "$d/$obj.i.o"
        refused=$((refused + 1))
      fi
    done
    for ld in bfd lld; do
      for obj in m x; do
        want=$(run_host "$cxx" "$lflags" $ld "$d/h.o" "$d/$obj.o")
        for variant in p i; do
          got=$(run_host "$cxx" "$lflags" $ld "$d/h.o" "$d/$obj.$variant.o")
          [ "$got" = "$want" ] || fail "$compiler $mode $ld $obj.$variant: output differs
--- original
$want
--- patched
$got"
          checked=$((checked + 1))
        done
      done
    done
  done
done

# No per-CPU data: byte-for-byte copy.
"$gcc" -O2 -c "$data/plain.c" -o "$tmp/plain.o"
"$tool" patch "$tmp/plain.o" -o "$tmp/plain.p.o"
cmp -s "$tmp/plain.o" "$tmp/plain.p.o" || fail "an object without per-CPU data was changed"
"$tool" patch --indirect "$tmp/plain.o" -o "$tmp/plain.i.o"
cmp -s "$tmp/plain.o" "$tmp/plain.i.o" || fail "--indirect changed an object without per-CPU data"

# link: two objects become one module with one block holding both.
"$gcc" -O2 -fPIE "${inc[@]}" -c "$data/module.c" -o "$tmp/lm.o"
"$gcc" -O2 -fPIE "${inc[@]}" -c "$data/extra.c" -o "$tmp/le.o"
"$tool" link --ld "$bindir/ld.lld" -o "$tmp/linked.o" "$tmp/lm.o" "$tmp/le.o"
layout=$("$tool" layout "$tmp/linked.o")
grep -qw rt_extra <<<"$layout" || fail "link: rt_extra missing from the block"
grep -qw rt_counter <<<"$layout" || fail "link: rt_counter missing from the block"
"$gcc" -O2 -fPIE "${inc[@]}" -c "$data/host.c" -o "$tmp/lh.o"
want=$(run_host "$gxx" -pie lld "$tmp/lh.o" "$tmp/lm.o" "$tmp/le.o")
got=$(run_host "$gxx" -pie bfd "$tmp/lh.o" "$tmp/linked.o")
[ "$got" = "$want" ] || fail "link: the linked module behaves differently"
if "$tool" link --ld /nonexistent/ld.lld -o "$tmp/x.o" "$tmp/lm.o" 2>/dev/null; then
  fail "link with a missing --ld succeeded"
fi
[ "$refused" -gt 0 ] || fail "no -fno-pic object exercised the --indirect refusal"
echo "roundtrip ok: $checked program pairs identical, $refused --indirect refusals"
