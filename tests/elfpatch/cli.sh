#!/usr/bin/env bash
# The command line says what is wrong with it, and never lets a mistake pass:
# a mistyped subcommand gets the nearest one, --cacheline takes powers of two,
# --max-growth needs --baseline, and --disable malformed skips inputs that are
# not objects but never one that is missing.  Each mistake exits 2.  layout
# takes several files (text one after the other, JSON an array).
#   cli.sh ELFPATCH OBJECT
set -euo pipefail
tool=$1 obj=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "cli: $*" >&2; exit 1; }

expect() { # $1: exit status, $2: text the output must contain, $3...: arguments
  local want=$1 text=$2 out status
  shift 2
  set +e
  out=$("$tool" "$@" 2>&1)
  status=$?
  set -e
  [ "$status" = "$want" ] || fail "percpu-elfpatch $* exited $status, expected $want: $out"
  [ -z "$text" ] || grep -qF -- "$text" <<<"$out" || fail "percpu-elfpatch $* said: $out (expected: $text)"
}

expect 2 "'chek' is not a subcommand; did you mean 'check'?" chek "$obj"
expect 2 "did you mean 'layout'?" lay0ut "$obj"
expect 2 "'frobnicate' is not a subcommand" frobnicate
expect 2 "expected a power of two" check --cacheline 48 "$obj"
expect 2 "expected a power of two" layout --cacheline 0 "$obj"
expect 0 "" check --cacheline 64 "$obj"
expect 2 "--max-growth 10% needs --baseline" check --max-growth 10% "$obj"
expect 2 "cannot read" check --disable malformed "$tmp/missing.o" "$obj"
echo "not an object" > "$tmp/text.o"
expect 0 "" check --disable malformed "$tmp/text.o" "$obj"
expect 2 "bad magic" check "$tmp/text.o" "$obj"
# layout takes several files, as check does.
out=$("$tool" layout "$obj" "$obj")
[ "$(grep -c 'per-CPU block of' <<<"$out")" = 2 ] || fail "layout of two files: $out"
"$tool" layout --format json "$obj" "$obj" | python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if isinstance(d, list) and len(d) == 2 else "not an array of 2")' ||
  fail "layout --format json of two files"
"$tool" layout --format json "$obj" | python3 -c 'import json, sys; sys.exit(0 if isinstance(json.load(sys.stdin), dict) else "not an object")' ||
  fail "layout --format json of one file is not the baseline object"
expect 2 "--format svg draws one block" layout --format svg "$obj" "$obj"
set +e
out=$("$tool" layout "$obj" "$tmp/text.o" 2>&1)
status=$?
set -e
[ "$status" = 2 ] || fail "layout with an unreadable file exited $status"
grep -q 'per-CPU block of' <<<"$out" || fail "layout skipped the readable file: $out"
echo "cli ok"
