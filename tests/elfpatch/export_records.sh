#!/usr/bin/env bash
# check and the loader agree on malformed export records: both refuse the
# same objects with the same message, rule malformed.
#   export_records.sh PERCPU_ELFPATCH PERCPU_LOAD LLVM_MC OUT_DIR SOURCE_DIR
set -uo pipefail
tool=$1 load=$2 mc=$3 out=$4 src=$5
mkdir -p "$out"
fail() { echo "FAIL: $*"; exit 1; }
for t in "export_kind:export record 0 does not name a symbol of this module" \
         "export_size:export table of 20 bytes is not an array of export records"; do
  name=${t%%:*} msg=${t#*:}
  obj="$out/$name.o"
  "$mc" -triple=x86_64-unknown-linux-gnu -filetype=obj "$src/testdata/malformed/$name.s" -o "$obj" \
    || fail "$name: cannot assemble"
  c=$("$tool" check "$obj" 2>&1); cs=$?
  l=$("$load" "$obj" 2>&1); ls=$?
  echo "$c"; echo "$l"
  [ "$cs" -eq 1 ] || fail "$name: check exited $cs, expected 1"
  [ "$ls" -eq 2 ] || fail "$name: percpu-load exited $ls, expected 2"
  grep -qF "$msg" <<<"$c" && grep -qF "[malformed]" <<<"$c" || fail "$name: check did not say: $msg"
  grep -qF "$msg" <<<"$l" || fail "$name: percpu-load did not say: $msg"
done
echo "export records ok"
