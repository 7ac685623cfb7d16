#!/usr/bin/env bash
# The loader's rule ids are the ones `percpu-elfpatch check --help` lists, marked
# as reported by the loader: each refusal below must end in a [rule] that the
# registry has with scope "load" (`percpu-elfpatch check --help`).
#   loader_rules.sh PERCPU_LOAD PERCPU_ELFPATCH FIXTURES_DIR
set -uo pipefail
load=$1 tool=$2 fx=$3
rules=$("$tool" check --help)
fail=0
expect() { # expected-rule module...
  local want=$1; shift
  local out
  out=$("$load" "$@" 2>&1)
  if [ $? -ne 2 ]; then echo "percpu-load $*: exit status not 2"; fail=1; return; fi
  local got
  got=$(grep -o '\[[a-z-]*\]$' <<<"$out" | tr -d '[]' | sort -u)
  if [ -z "$got" ]; then echo "percpu-load $*: no rule id in: $out"; fail=1; return; fi
  grep -qx "$want" <<<"$got" || { echo "percpu-load $*: expected [$want], got: $got"; fail=1; }
  for r in $got; do
    grep -Eq "^  $r +.*\[(check, )?load\]$" <<<"$rules" ||
      { echo "rule '$r' (percpu-load $*) is not registered as a loader rule in --help"; fail=1; }
  done
}
expect init-failed "$fx/gcc_O2_fPIE/failing_init.o"
expect undefined-symbol "$fx/gcc_O2_fPIE/user.o"
# The same exports from another file (the same file twice is one module).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$fx/gcc_O2_fPIE/counters.o" "$tmp/counters.o"
expect duplicate-export "$fx/gcc_O2_fPIE/counters.o" "$tmp/counters.o"
expect section-flags "$fx/bad_percpu_type.o"
[ $fail -eq 0 ] && echo "loader rules ok"
exit $fail
