#!/usr/bin/env bash
# Golden-test runner for percpu-elfpatch (a small lit):
#   golden.sh TOOL LLVM_BINDIR PERCPU_LD TEST_FILE
# The test file carries its own recipe and expectations:
#   #--- name.s / name.yaml   split into files (llvm split-file); each .s is
#                             assembled with llvm-mc (# TRIPLE:, default
#                             x86_64-linux-gnu), each .yaml turned into an
#                             object with yaml2obj; without markers the whole
#                             file is one input, %t/t.o
#   # SH: command             a preparation step (sh), before the tool runs
#   # RUN: args               arguments of percpu-elfpatch
#   # EXIT: n                 expected exit status (default 0)
#   # CHECK...                FileCheck expectations on stdout+stderr; every
#                             line with "error:" must be matched (no other error)
# Substitutions: %t (a scratch directory), %s (the test file), %ld (ld.lld),
# %percpu_ld (the linker fragment), %tool (percpu-elfpatch), %bin (LLVM's
# bin directory).
set -euo pipefail
tool=$1 bindir=$2 percpu_ld=$3 test=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
triple=$(sed -n 's/^[#/]* *TRIPLE: *//p' "$test" | head -1)
triple=${triple:-x86_64-linux-gnu}
expect_exit=$(sed -n 's/^[#/]* *EXIT: *//p' "$test" | head -1)
expect_exit=${expect_exit:-0}

subst() {
  local s=$1
  s=${s//%tool/$tool}
  s=${s//%percpu_ld/$percpu_ld}
  s=${s//%ld/$bindir/ld.lld}
  s=${s//%bin/$bindir}
  s=${s//%t/$tmp}
  s=${s//%s/$test}
  printf '%s' "$s"
}

build() { # build one input file into an object
  local f=$1 out=${1%.*}.o
  case "$f" in
    *.s) "$bindir/llvm-mc" -filetype=obj -triple="$triple" "$f" -o "$out" ;;
    *.yaml) "$bindir/yaml2obj" "$f" -o "$out" ;;
  esac
}

if grep -q '^#--- ' "$test"; then
  "$bindir/split-file" --leading-lines "$test" "$tmp"
  for f in "$tmp"/*; do build "$f"; done
else
  case "$test" in
    *.s) cp "$test" "$tmp/t.s"; build "$tmp/t.s" ;;
    *.yaml) cp "$test" "$tmp/t.yaml"; build "$tmp/t.yaml" ;;
  esac
fi

while IFS= read -r step; do
  sh -c "$(subst "$step")"
done < <(sed -n 's/^[#/]* *SH: *//p' "$test")

run=$(sed -n 's/^[#/]* *RUN: *//p' "$test" | head -1)
[ -n "$run" ] || { echo "golden: $test has no RUN: line" >&2; exit 2; }
set +e
# shellcheck disable=SC2046
eval "\"$tool\" $(subst "$run")" > "$tmp/out.txt" 2>&1
status=$?
set -e
sed "s|$tmp|%t|g" "$tmp/out.txt" > "$tmp/out.norm"
cat "$tmp/out.norm"
if [ "$status" != "$expect_exit" ]; then
  echo "golden: exit status $status, expected $expect_exit" >&2
  exit 1
fi
"$bindir/FileCheck" --allow-empty --input-file="$tmp/out.norm" --implicit-check-not="error:" "$test"
echo "golden ok"
