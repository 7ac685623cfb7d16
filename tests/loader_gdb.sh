#!/usr/bin/env bash
# gdb -batch sees a module's functions (and their source lines) in a
# backtrace: the loader registers each module with GDB's JIT interface.
#   loader_gdb.sh PERCPU_LOAD CC SRC_DIR
set -uo pipefail
load=$1 cc=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cc" -O0 -g -fPIC -c "$src/testdata/modules/crash.c" -o "$tmp/crash.o" || exit 1
out=$(timeout 120 gdb -nx -batch -ex run -ex bt --args "$load" --call module_entry_for_gdb "$tmp/crash.o" 2>&1)
echo "$out" | grep '^#'
grep -Eq '^#[0-9]+ +0x[0-9a-f]+ in crash_in_module \(\) at .*crash\.c:6' <<<"$out" || { echo "crash_in_module not in the backtrace"; exit 1; }
grep -Eq 'in module_entry_for_gdb \(\) at .*crash\.c:9' <<<"$out" || { echo "module_entry_for_gdb not in the backtrace"; exit 1; }
echo "gdb ok"
