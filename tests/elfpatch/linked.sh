#!/usr/bin/env bash
# Linked programs and shared objects are checked for what applies to them
# (the host-layout rules), not read as modules: their dynamic relocations
# index .dynsym, which a reader of .symtab took for "relocation N refers to
# symbol M, past the 0 symbols".  A stripped host gets a note (its bounds went
# with the symbol table), not a false host-layout error; percpu-load refuses
# a shared object as not relocatable.
#   linked.sh ELFPATCH PERCPU_LOAD LLVM_BINDIR HOST_PROGRAM OBJECT
set -euo pipefail
tool=$1 load=$2 bindir=$3 host=$4 obj=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "linked: $*" >&2; exit 1; }

run() { # $1: expected exit status, then the command; prints its output
  local want=$1 out status
  shift
  set +e
  out=$("$@" 2>&1)
  status=$?
  set -e
  [ "$status" = "$want" ] || fail "$* exited $status, expected $want: $out"
  printf '%s' "$out"
}

"$bindir/ld.lld" -shared -o "$tmp/libm.so" "$obj"
out=$(run 0 "$tool" check "$tmp/libm.so")
grep -q 'error' <<<"$out" && fail "check of a shared object: $out"
out=$(run 0 "$tool" check "$(type -P true)")
grep -q 'error' <<<"$out" && fail "check of a system program: $out"
out=$(run 0 "$tool" check "$host")
grep -q 'error' <<<"$out" && fail "check of a per-CPU host: $out"
"$bindir/llvm-strip" -o "$tmp/stripped" "$host"
out=$(run 0 "$tool" check "$tmp/stripped")
grep -q 'note: .*stripped' <<<"$out" || fail "check of a stripped host said: $out"
grep -q 'error' <<<"$out" && fail "check of a stripped host: $out"
out=$(run 2 "$load" "$tmp/libm.so")
grep -q 'not a relocatable object' <<<"$out" || fail "percpu-load of a shared object said: $out"
echo "linked ok"
