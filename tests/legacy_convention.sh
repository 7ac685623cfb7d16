#!/usr/bin/env bash
# An object of the previous convention (testdata/modules/legacy_module.c:
# per_cpu__legacy_hits and its export record under that name) still checks
# clean, patches, keeps its layout across patch, and loads before and after.
# And an object patched by the previous version (version-2 layout note:
# testdata/fuzz/elfpatch/patched-groups.o, from the golden
# layout-drift-patched.s) matches a baseline of its unpatched source taken
# now, and loads.
#   legacy_convention.sh ELFPATCH PERCPU_LOAD LEGACY_OBJECT SOURCE_DIR LLVM_BINDIR
set -euo pipefail
tool=$1 load=$2 obj=$3 src=$4 bindir=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "legacy convention: $*" >&2; exit 1; }

out=$("$tool" check "$obj" 2>&1) || fail "check refuses it: $out"
before=$("$tool" layout "$obj" --format json) || fail "layout fails"
grep -q '"per_cpu__legacy_hits"' <<<"$before" || fail "layout lost the variable: $before"
"$tool" patch "$obj" -o "$tmp/patched.o" || fail "patch fails"
out=$("$tool" check "$tmp/patched.o" 2>&1) || fail "check refuses the patched object: $out"
after=$("$tool" layout "$tmp/patched.o" --format json)
[ "$(grep -v '"file"' <<<"$before")" = "$(grep -v '"file"' <<<"$after")" ] ||
  fail "layout changed across patch:
$before
---
$after"
"$tool" check --baseline <(echo "$before") "$tmp/patched.o" >/dev/null || fail "the patched object drifts from its baseline"
for o in "$obj" "$tmp/patched.o"; do
  out=$("$load" --call legacy_selftest "$o" 2>&1) || fail "percpu-load $o: $out"
done
old=$src/testdata/fuzz/elfpatch/patched-groups.o
"$bindir/llvm-mc" -filetype=obj -triple=x86_64-linux-gnu "$src/testdata/elfpatch/golden/layout-drift-patched.s" \
  -o "$tmp/unpatched.o"
"$tool" layout --format json "$tmp/unpatched.o" > "$tmp/base.json"
out=$("$tool" check --baseline "$tmp/base.json" "$old" 2>&1) || fail "an object patched by the previous version drifts: $out"
out=$("$load" "$old" 2>&1) || fail "an object patched by the previous version does not load: $out"
echo "legacy convention ok"
