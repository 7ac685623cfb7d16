#!/usr/bin/env bash
# The 1,000-object corpus of the elfpatch benchmarks, into OUT_DIR: 950 real
# objects from the system's libc.a and 50 generated C files with per-CPU data
# of every flavour and code using it (gcc -O2 -g -fPIE).  Deterministic.
#   bench/elfpatch/corpus.sh OUT_DIR
set -euo pipefail
[ $# = 1 ] || { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
out=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
mkdir -p "$out"

# 950 objects from libc.a.
libc=$(gcc -print-file-name=libc.a)
(cd "$gen" && ar x "$libc")
libc_objs=("$gen"/*.o)
mv "${libc_objs[@]:0:950}" "$out/"
# 50 generated objects with per-CPU data of every flavour and code using it.
python3 - "$gen" <<'PY'
import sys, random
out = sys.argv[1]
random.seed(7)
kinds = ["DEFINE_PER_CPU", "DEFINE_PER_CPU_FIRST", "DEFINE_PER_CPU_READ_MOSTLY",
         "DEFINE_PER_CPU_SHARED_ALIGNED", "DEFINE_PER_CPU_PAGE_ALIGNED"]
types = ["long", "int", "char[40]", "unsigned short", "void *", "long[8]"]
for i in range(50):
    lines = ["#include <percpu/linux.h>"]
    names = []
    for v in range(random.randint(5, 40)):
        k, t = random.choice(kinds), random.choice(types)
        n = f"v{i}_{v}"
        lines.append(f"{k}({t}, {n});")
        if t in ("long", "int", "unsigned short"):
            names.append(n)
    for f in range(10):
        body = " ".join(f"this_cpu_inc({n});" for n in random.sample(names, min(3, len(names))))
        lines.append(f"void f{i}_{f}(void) {{ {body} }}")
        if names:
            n = random.choice(names)
            lines.append(f"long s{i}_{f}(void) {{ long s = 0; int c; for_each_possible_cpu(c) s += per_cpu({n}, c); return s; }}")
    open(f"{out}/pcpu{i}.c", "w").write("\n".join(lines) + "\n")
PY
for c in "$gen"/pcpu*.c; do
  gcc -O2 -g -fPIE -I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include" -c "$c" -o "$out/$(basename "${c%.c}").o"
done
