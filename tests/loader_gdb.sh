#!/usr/bin/env bash
# gdb -batch sees a module's functions (and their source lines) in a
# backtrace: the loader registers each module with GDB's JIT interface.  Also
# with compressed debug sections (-gz: SHF_COMPRESSED .debug_*), and for
# optimised code without frame pointers.
#   loader_gdb.sh PERCPU_LOAD CC SRC_DIR
set -uo pipefail
load=$1 cc=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# -O2 without frame pointers: the backtrace needs the module's CFI
# (.eh_frame, which the loader's debug image keeps while code is NOBITS there).
for flags in "-O0" "-O0 -gz=zlib" "-O2 -fomit-frame-pointer"; do
  gz=
  [[ $flags == *-gz* ]] && gz=-gz
  # shellcheck disable=SC2086
  "$cc" $flags -g -fPIC -c "$src/testdata/modules/crash.c" -o "$tmp/crash.o" || exit 1
  if [ -n "$gz" ] && ! grep -q '\.debug_info .* C ' <<<"$(readelf -S -W "$tmp/crash.o")"; then
    echo "$flags did not compress .debug_info"; exit 1
  fi
  out=$(timeout 120 gdb -nx -batch -ex run -ex bt --args "$load" --call module_entry_for_gdb "$tmp/crash.o" 2>&1)
  echo "$out" | grep '^#'
  grep -Eq '^#[0-9]+ +0x[0-9a-f]+ in crash_in_module \(\) at .*crash\.c:6' <<<"$out" || { echo "crash_in_module not in the backtrace ($flags)"; exit 1; }
  grep -Eq 'in module_entry_for_gdb \(\) at .*crash\.c:9' <<<"$out" || { echo "module_entry_for_gdb not in the backtrace ($flags)"; exit 1; }
done
echo "gdb ok"
