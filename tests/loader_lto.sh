#!/usr/bin/env bash
# Link-time-optimisation objects carry no machine code (GCC's slim LTO) or
# are not ELF at all (clang's bitcode): each load fails with exit status 2
# and a message saying so and what to do.
#   loader_lto.sh PERCPU_LOAD GCC CLANG
set -uo pipefail
load=$1 gcc=$2 clang=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int lto_f(void) { return 0; }\n' > "$tmp/m.c"
"$gcc" -O2 -flto -fPIC -c "$tmp/m.c" -o "$tmp/gcc.o" || exit 1
"$clang" -O2 -flto -fPIC -c "$tmp/m.c" -o "$tmp/clang.o" || exit 1
expect() { # file pattern
  local out status
  out=$("$load" --call lto_f "$1" 2>&1)
  status=$?
  echo "$out"
  [ "$status" -eq 2 ] || { echo "$1: exit status $status, expected 2"; exit 1; }
  grep -Fq -- "$2" <<<"$out" || { echo "$1: no message '$2'"; exit 1; }
}
expect "$tmp/gcc.o" "gcc.o: error: object holds only GCC's LTO bytecode (-flto without -ffat-lto-objects), no machine code to load"
expect "$tmp/clang.o" "clang.o: error: LLVM bitcode, not an ELF object (compiled with -flto?)"
# With -ffat-lto-objects there is machine code: it loads and runs.
"$gcc" -O2 -flto -ffat-lto-objects -fPIC -c "$tmp/m.c" -o "$tmp/fat.o" || exit 1
"$load" --call lto_f "$tmp/fat.o" || { echo "fat LTO object: exit status $?"; exit 1; }
echo "lto ok"
