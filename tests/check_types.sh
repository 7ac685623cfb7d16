#!/usr/bin/env bash
# check's type-mismatch rule: a DECLARE_PER_CPU whose type differs in size
# from the DEFINE_PER_CPU it binds to, told by DWARF (gcc -g emits a
# declaration DIE for each extern a unit uses).
# Usage: check_types.sh ELFPATCH SRC CC
set -euo pipefail
elfpatch=$1 src=$2 cc=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include")
fail() { echo "FAIL: $*"; exit 1; }
for g in -g ""; do
  "$cc" $g -O2 -fPIC "${inc[@]}" -c "$src/testdata/check_types/defs.c" -o "$work/defs$g.o"
  "$cc" $g -O2 -fPIC "${inc[@]}" -c "$src/testdata/check_types/uses.c" -o "$work/uses$g.o"
done

# With DWARF: the one mismatch (hits: int against long), at the declaration's
# line, naming both types and the definition's place; nothing for the two
# declared as defined.
set +e
out=$("$elfpatch" check "$work/defs-g.o" "$work/uses-g.o" 2>&1); rc=$?
set -e
[ $rc = 1 ] || fail "exit $rc, expected 1: $out"
grep -q "uses-g.o: error: per-CPU 'hits' is declared as int (4 bytes) but defined as long int (8 bytes) at .*check_types/defs.c:4 in .*defs-g.o.*\[type-mismatch\]" <<<"$out" ||
  fail "no type-mismatch for hits: $out"
grep -q ">>> referenced by .*check_types/uses.c:5" <<<"$out" || fail "not at the declaration's line: $out"
[ "$(grep -c 'error:' <<<"$out")" = 1 ] || fail "more than the one mismatch: $out"
sarif=$("$elfpatch" check --format sarif "$work/defs-g.o" "$work/uses-g.o" || true)
grep -q '"ruleId": "type-mismatch"' <<<"$sarif" || fail "no SARIF result: $sarif"
grep -q '"startLine": 5' <<<"$sarif" || fail "SARIF result not on the declaration's line: $sarif"

# Disabled, without DWARF, or one object alone: nothing to report.
"$elfpatch" check --disable type-mismatch "$work/defs-g.o" "$work/uses-g.o" >/dev/null || fail "--disable type-mismatch"
"$elfpatch" check "$work/defs.o" "$work/uses.o" >/dev/null || fail "reported without DWARF"
"$elfpatch" check "$work/uses-g.o" >/dev/null || fail "reported with no definition checked"
echo "check types ok"
