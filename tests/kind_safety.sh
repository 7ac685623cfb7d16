#!/usr/bin/env bash
# Kind safety, the loader against check on the same C objects: every mistake
# the README lists as caught is refused by the one and reported by the other
# (or, for direct-access, reported by check), and the correct use passes both.
#   kind_safety.sh ELFPATCH PERCPU_LOAD CC SOURCE_DIR
set -euo pipefail
tool=$1 load=$2 cc=$3 src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "kind safety: $*" >&2; exit 1; }

expect() { # $1: expected status, $2: text the output must contain, $3...: command
  local want=$1 text=$2 out status
  shift 2
  set +e
  out=$("$@" 2>&1)
  status=$?
  set -e
  [ "$status" = "$want" ] || fail "$* exited $status, expected $want:
$out"
  [ -z "$text" ] || grep -qF -- "$text" <<<"$out" || fail "$* did not say \"$text\":
$out"
}

for pic in -fPIC -fPIE; do
  for f in def good plain_ref decl_plain direct; do
    "$cc" -std=gnu11 -O2 "$pic" -I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include" \
      -c "$src/testdata/kind/$f.c" -o "$tmp/$f.o"
  done
  cd "$tmp"
  # Right: both accept.
  expect 0 "" "$tool" check def.o good.o
  expect 0 "" "$load" --call good def.o good.o
  # A plain extern of a per-CPU variable.
  expect 1 "ordinary reference 'hits' would bind to per-CPU data defined at def.o" "$tool" check def.o plain_ref.o
  expect 2 "ordinary reference 'hits' resolves to a per-CPU module 'def.o' export" "$load" def.o plain_ref.o
  # A per-CPU declaration of ordinary data.
  expect 1 "per-CPU reference 'plain_count' (declared with DECLARE_PER_CPU) would bind to ordinary data" \
    "$tool" check def.o decl_plain.o
  expect 2 "per-CPU reference 'plain_count' resolves to ordinary module 'def.o' symbol" "$load" def.o decl_plain.o
  # A direct access through the canonical address: check's rule.
  expect 1 "reads or writes the canonical address of per-CPU 'hits'" "$tool" check def.o direct.o
  cd - >/dev/null
done
echo "kind safety ok"
