#!/usr/bin/env bash
# Modules whose code reads libc's variables directly (-fPIE style):
#   loader_far_data.sh PERCPU_LOAD LLVM_BINDIR SRC_DIR
# far_data.s must load and see the real stdin/stdout/stderr/optind (copies the
# host holds), and read and write daylight/timezone (nobody's copies) through
# moved instructions; far_data_refused.s must be refused with exit status 2 and
# a message naming the symbol, the library, the reason and the remedy.
set -uo pipefail
load=$1 bindir=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in far_data far_data_refused; do
  "$bindir/llvm-mc" -filetype=obj -triple=x86_64-linux-gnu "$src/testdata/modules/$f.s" -o "$tmp/$f.o" || exit 1
done
"$load" --call far_data_check --call far_memory_check "$tmp/far_data.o" \
  || { echo "far_data.o: exit status $?, expected 0"; exit 1; }
out=$("$load" --call read_timezone "$tmp/far_data_refused.o" 2>&1)
status=$?
echo "$out"
[ "$status" -eq 2 ] || { echo "far_data_refused.o: exit status $status, expected 2"; exit 1; }
grep -Eq "far_data_refused\.o:\(\.text\+0x2\): error: relocation R_X86_64_PC32 out of range: .*'timezone' is defined in [^ ]*libc\.so\.6, out of 32-bit reach of the module: .* uses the stack; build the module with -fPIC \[relocation-overflow\]" <<<"$out" \
  || { echo "no precise diagnostic for the far libc variable"; exit 1; }
echo "far data ok"
