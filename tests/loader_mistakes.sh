#!/usr/bin/env bash
# A user's mistakes in modules end in a message and an exit status, never in
# a dead host (testdata/loader_mistakes):
#  - a static constructor that throws: the load fails [init-failed] with the
#    exception's type and what();
#  - --call of a function that throws: exit 2 with what();
#  - --call of a variable: refused, exit 2, nothing jumped to;
#  - a canonical address dereferenced: percpu-load's guard (on by default)
#    names the variable;
#  - a per-CPU block bigger than a unit: the message gives PERCPU_STRIDE,
#    which then works;
#  - a symbol found only in a library percpu-load uses for itself (zlib):
#    refused, the library named; --lib lets modules use it;
#  - a thread-local relocation against ordinary data, an address of thread-local
#    data in .data: malformed, refused.
#   loader_mistakes.sh PERCPU_LOAD SOURCE_DIR CC CXX [SANITIZER]
# Under AddressSanitizer or ThreadSanitizer (SANITIZER set) the canonical
# range is poisoned, not inaccessible, and these modules are not
# instrumented: their dereference does not fault, and is not checked here.
set -uo pipefail
load=$1 src=$2 cc=$3 cxx=$4 sanitizer=${5:-}
d=$src/testdata/loader_mistakes
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include")
"$cxx" -std=c++20 -O2 -fPIC -c "$d/throwing_ctor.cc" -o "$tmp/throwing_ctor.o" || exit 1
"$cxx" -std=c++20 -O2 -fPIC -c "$d/call_targets.cc" -o "$tmp/call_targets.o" || exit 1
"$cc" -std=gnu11 -O2 -fPIC "${inc[@]}" -c "$d/deref.c" -o "$tmp/deref.o" || exit 1
"$cc" -std=gnu11 -O2 -fPIC "${inc[@]}" -c "$d/huge.c" -o "$tmp/huge.o" || exit 1
"$cc" -std=gnu11 -O2 -fPIC -c "$d/uses_zlib.c" -o "$tmp/uses_zlib.o" || exit 1
fail() { echo "FAIL: $*"; echo "$out"; exit 1; }

out=$("$load" "$tmp/throwing_ctor.o" 2>&1); status=$?
[ "$status" = 2 ] || fail "throwing constructor: exit $status, expected 2"
grep -q "a static constructor threw std::runtime_error: boom at load; the module is not loaded \[init-failed\]" <<<"$out" \
  || fail "throwing constructor: no init-failed message with the exception"

out=$("$load" --call returns_zero --call throws_out "$tmp/call_targets.o" 2>&1); status=$?
[ "$status" = 2 ] || fail "throwing --call: exit $status, expected 2"
grep -q "throws_out() threw: escaped from the module" <<<"$out" || fail "throwing --call: no message"

out=$("$load" --call plain_data "$tmp/call_targets.o" 2>&1); status=$?
[ "$status" = 2 ] || fail "--call of a variable: exit $status, expected 2"
grep -q "'plain_data' is a variable, not a function" <<<"$out" || fail "--call of a variable: no message"

if [ -z "$sanitizer" ]; then
  out=$("$load" --call touch_canonical "$tmp/deref.o" 2>&1); status=$?
  [ "$status" != 0 ] || fail "canonical dereference: the module survived"
  grep -q "percpu: guard: .*guarded_var" <<<"$out" || fail "canonical dereference: the guard said nothing"
  out=$(PERCPU_GUARD=0 "$load" --call touch_canonical "$tmp/deref.o" 2>&1)
  grep -q "percpu: guard:" <<<"$out" && fail "PERCPU_GUARD=0 did not turn the guard off"
fi

out=$("$load" --call huge_touch "$tmp/huge.o" 2>&1); status=$?
[ "$status" = 2 ] || fail "huge block: exit $status, expected 2"
grep -q "cannot allocate 104857600 bytes of per-CPU data: .*PERCPU_STRIDE=256M" <<<"$out" \
  || fail "huge block: the message does not name the remedy"
out=$(PERCPU_STRIDE=256M "$load" --call huge_touch "$tmp/huge.o" 2>&1); status=$?
[ "$status" = 0 ] || fail "huge block with the stride the message names: exit $status"
# A library only percpu-load itself uses (zlib, through LLVM) is not the
# modules': refused, the library named; --lib lets them use it.
out=$("$load" --call zlib_version_ok "$tmp/uses_zlib.o" 2>&1); status=$?
[ "$status" = 2 ] || fail "a symbol of the loader's own libraries: exit $status, expected 2"
grep -q "undefined symbol 'zlibVersion' (defined in the process only by libz.so" <<<"$out" \
  || fail "a symbol of the loader's own libraries: the library is not named"
out=$("$load" --lib libz.so.1 --call zlib_version_ok "$tmp/uses_zlib.o" 2>&1); status=$?
[ "$status" = 0 ] || fail "--lib libz.so.1: exit $status"

# A thread-local relocation against ordinary data, and an address of thread-local data
# in .data: malformed, refused before anything is mapped (x86-64 assembly).
if [ "$(uname -m)" = x86_64 ]; then
  awk '/^#--- address/{exit} {print}' "$d/tls_kinds.s" > "$tmp/tls_function.s"
  awk 'f{print} /^#--- address/{f=1}' "$d/tls_kinds.s" > "$tmp/tls_address.s"
  "$cc" -c "$tmp/tls_function.s" -o "$tmp/tls_function.o" || exit 1
  "$cc" -c "$tmp/tls_address.s" -o "$tmp/tls_address.o" || exit 1
  out=$("$load" "$tmp/tls_function.o" 2>&1); status=$?
  [ "$status" = 2 ] || fail "TLSGD against ordinary data: exit $status, expected 2"
  grep -q "(.text+0x[0-9a-f]*): error: relocation R_X86_64_TLSGD against 'plain', which is not thread-local data \[malformed\]" <<<"$out" \
    || fail "TLSGD against ordinary data: not named"
  out=$("$load" "$tmp/tls_address.o" 2>&1); status=$?
  [ "$status" = 2 ] || fail "address of thread-local data: exit $status, expected 2"
  grep -q "relocation R_X86_64_64 against 'tv', thread-local data, which has no address outside a thread's block \[malformed\]" <<<"$out" \
    || fail "address of thread-local data: not refused"
fi
echo "loader mistakes ok"
