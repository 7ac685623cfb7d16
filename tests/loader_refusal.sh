#!/usr/bin/env bash
# A -fno-pic module in a PIE host (percpu-load): the load must fail with exit
# status 2 and a relocation-overflow message naming file, section and symbol.
#   loader_refusal.sh PERCPU_LOAD MODULE
set -uo pipefail
out=$("$1" "$2" 2>&1)
status=$?
echo "$out"
[ "$status" -eq 2 ] || { echo "exit status $status, expected 2"; exit 1; }
grep -Eq "^$2:\(\.text[^)]*\+0x[0-9a-f]+\): error: relocation R_X86_64_32S? out of range: 0x[0-9a-f]+ is not in .* references '[^']+'; .*compiled without -fPIC.*recompile it with -fPIC \[relocation-overflow\]" <<<"$out" \
  || { echo "no precise relocation-overflow diagnostic"; exit 1; }
echo "refused ok"
