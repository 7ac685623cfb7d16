#!/usr/bin/env bash
# Linked programs and shared objects are checked for what applies to them
# (the host-layout and shared-object rules), not read as modules: their dynamic relocations
# index .dynsym, which a reader of .symtab took for "relocation N refers to
# symbol M, past the 0 symbols".  A stripped host gets a note (its bounds went
# with the symbol table), not a false host-layout error; percpu-load refuses
# a shared object as not relocatable.  layout gives a linked block the
# alignment its variables need.
#   linked.sh ELFPATCH PERCPU_LOAD LLVM_BINDIR HOST_PROGRAM OBJECT LIBA
# (LIBA: testdata/shared/liba.c built with percpu_add_library(), whose
# a_wide is __aligned(256))
set -euo pipefail
tool=$1 load=$2 bindir=$3 host=$4 obj=$5 liba=$6
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

# A module linked plainly as a shared object: its per-CPU data became one
# copy for all CPUs, which the shared-object rule says, and nothing else is
# wrong with it (no relocation taken for a module's).
"$bindir/ld.lld" -shared -o "$tmp/libm.so" "$obj"
out=$(run 1 "$tool" check "$tmp/libm.so")
grep -q 'libm.so: error: shared object has .*\[shared-object\]' <<<"$out" ||
  fail "check of a plainly linked per-CPU shared object said: $out"
[ "$(grep -c 'error' <<<"$out")" = 1 ] || fail "check of a shared object: $out"
# A shared object without per-CPU data is clean.
printf 'int f(void) { return 1; }\n' > "$tmp/plain.c"
"$bindir/clang" -fPIC -c "$tmp/plain.c" -o "$tmp/plain.o"
"$bindir/ld.lld" -shared -o "$tmp/libplain.so" "$tmp/plain.o"
out=$(run 0 "$tool" check "$tmp/libplain.so")
grep -q 'error' <<<"$out" && fail "check of a shared object without per-CPU data: $out"
out=$(run 0 "$tool" check "$(type -P true)")
grep -q 'error' <<<"$out" && fail "check of a system program: $out"
out=$(run 0 "$tool" check "$host")
grep -q 'error' <<<"$out" && fail "check of a per-CPU host: $out"
"$bindir/llvm-strip" -o "$tmp/stripped" "$host"
out=$(run 0 "$tool" check "$tmp/stripped")
grep -q 'note: .*stripped' <<<"$out" || fail "check of a stripped host said: $out"
grep -q 'error' <<<"$out" && fail "check of a stripped host: $out"
out=$(run 0 "$tool" layout "$liba")
grep -q '^  bytes per CPU: [0-9]* (alignment 256)' <<<"$out" ||
  fail "layout of a shared object with a 256-aligned variable said: $out"
out=$(run 0 "$tool" layout --format json "$liba")
grep -q '"align": *256' <<<"$out" || fail "layout --format json of that shared object said: $out"
out=$(run 2 "$load" "$tmp/libm.so")
grep -q 'not a relocatable object' <<<"$out" || fail "percpu-load of a shared object said: $out"
echo "linked ok"
