#!/usr/bin/env bash
# check's precision over the flag matrix: gcc and clang x -O0/-O1/-O2/-O3/-Os
# x -fPIC/-fPIE/-fno-pic on x86-64, and on AArch64 (-fPIC/-fPIE).
#  - correct per-CPU code (testdata/check_corpus/correct.c, the kernel-API
#    conformance module, the kernel's lib/percpu_test.c, the fixtures'
#    counters and array users): no diagnostic at all;
#  - seeded bugs (testdata/check_corpus/bugs.c): each reported at its
#    function.  On x86-64 every seeded bug is required everywhere: scalars,
#    members, constant and variable indices (arr[i], a store through it),
#    m[i][j] (the row offset added first, as clang and gcc -O0 do), memset
#    and memcpy of the template, inlined (rep stos / rep movs) or called,
#    the address stored to a stack slot and reloaded (a volatile pointer).
#    On AArch64 the same, gcc's -fPIE section anchors (the anchor plus the
#    variable's offset) and gcc -O0's register shuffles before a call
#    included.
#    Prints how many visible bugs were found.
# Usage: check_corpus.sh ELFPATCH SRC GCC CLANG
set -euo pipefail
elfpatch=$1 src=$2 gcc=$3 clang=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/testdata/kernel")
correct=("$src/testdata/check_corpus/correct.c" "$src/testdata/modules/kapi_module.c"
         "$src/testdata/modules/percpu_test_mod.c" "$src/testdata/modules/counters.c"
         "$src/testdata/modules/array_user.c")
always=(bug_scalar bug_member bug_constant_index)
seeded_fns=(bug_scalar bug_member bug_constant_index bug_index bug_store bug_matrix bug_memset bug_memcpy bug_spill)
fail=0 found=0 seeded=0 configs=0

# One configuration, named $1, compiled by the command that follows: check
# is silent on every correct object; the seeded bugs are reported at their
# functions, each of ${required[@]} without fail, and nothing else is.
run_config() {
  local cfg=$1; shift
  configs=$((configs + 1))
  for f in "${correct[@]}"; do
    local o="$work/$(basename "$f" .c).o" out
    "$@" -c "$f" -o "$o"
    if ! out=$("$elfpatch" check "$o" 2>&1) || [ -n "$out" ]; then
      echo "FAIL ($cfg): check is not silent on correct code $(basename "$f"):"; echo "$out" | head -5
      fail=1
    fi
  done
  "$@" -c "$src/testdata/check_corpus/bugs.c" -o "$work/bugs.o"
  local report
  report=$("$elfpatch" check "$work/bugs.o" 2>&1 || true)
  for fn in "${seeded_fns[@]}"; do
    seeded=$((seeded + 1))
    if grep -q "bugs.o:($fn)" <<<"$report"; then
      found=$((found + 1))
    elif printf '%s\n' "${required[@]}" | grep -qx "$fn"; then
      echo "FAIL ($cfg): $fn not reported"; echo "$report" | head -20
      fail=1
    fi
  done
  if grep "referenced by" <<<"$report" | grep -vq "bugs.o:(bug_"; then
    echo "FAIL ($cfg): a diagnostic outside the seeded functions"; echo "$report"; fail=1
  fi
}

for cc in gcc clang; do
  compiler=$gcc; [ $cc = clang ] && compiler=$clang
  for opt in O0 O1 O2 O3 Os; do
    for pic in fPIC fPIE fno-pic; do
      cfg="$cc -$opt -$pic"
      required=("${always[@]}" bug_memset bug_memcpy bug_index bug_store bug_matrix bug_spill)
      run_config "$cfg" "$compiler" -std=gnu11 -"$opt" -"$pic" "${inc[@]}"
    done
  done
done
# AArch64, cross-compiled: clang (--target) and gcc (the cross compiler,
# when installed) x five -O levels x -fPIC/-fPIE.  Required: every seeded
# bug.
inc64=(-I"$src/src/runtime/include" -I"$src/arch/aarch64/include" -I"$src/testdata/kernel")
a64=(clang)
command -v aarch64-linux-gnu-gcc >/dev/null && a64+=(gcc)
for cc in "${a64[@]}"; do
  compiler=("$clang" --target=aarch64-linux-gnu)
  [ $cc = gcc ] && compiler=(aarch64-linux-gnu-gcc)
  for opt in O0 O1 O2 O3 Os; do
    for pic in fPIC fPIE; do
      required=("${always[@]}" bug_index bug_store bug_memset bug_matrix bug_memcpy bug_spill)
      run_config "aarch64 $cc -$opt -$pic" "${compiler[@]}" -std=gnu11 -"$opt" -"$pic" "${inc64[@]}"
    done
  done
done
echo "check corpus: $configs configurations, correct code silent; $found of $seeded seeded bugs found"
[ $fail = 0 ] && echo "check corpus ok"
