#!/usr/bin/env bash
# percpu-elfpatch check/layout against llvm-readelf -S -r -s over a corpus of
# 1,000 objects: real ones from the system's libc.a mixed with generated
# objects with per-CPU data (C, compiled with -O2 -g).  Prints times, MB/s and
# ratios.  Usage: bench/elfpatch/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/default}
src=$(cd "$(dirname "$0")/../.." && pwd)
tool="$build/src/elfpatch/percpu-elfpatch"
llvm=${PERCPU_LLVM_VERSION:-19}
readelf=/usr/lib/llvm-$llvm/bin/llvm-readelf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$src/bench/elfpatch/corpus.sh" "$work/corpus"
files=("$work"/corpus/*.o)
bytes=$(cat "${files[@]}" | wc -c)

timeit() { # median of 3 runs, seconds
  python3 - "$@" <<'PY'
import subprocess, sys, time, statistics
cmd = sys.argv[1:]
ts = []
for _ in range(3):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ts.append(time.perf_counter() - t)
print(f"{statistics.median(ts):.4f}")
PY
}
t_check=$(timeit "$tool" check "${files[@]}")
t_read=$(timeit "$readelf" -S -r -s "${files[@]}")
# One process per file (what a build system does): 200 files.
printf '%s\n' "${files[@]:0:150}" "${files[@]:950:50}" > "$work/list"
t_layout=$(timeit sh -c "xargs -n1 $tool layout < $work/list")
t_read1=$(timeit sh -c "xargs -n1 $readelf -S -r -s < $work/list")
python3 - "$bytes" "${#files[@]}" "$t_check" "$t_read" "$t_layout" "$t_read1" <<'PY'
import sys
b, n, tc, tr, tl, tr1 = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:])
mb = b / 1e6
print(f"corpus: {n} objects, {mb:.1f} MB (950 from libc.a, 50 generated with per-CPU data)")
print(f"  check, all files in one run:      {tc:7.3f} s  {mb/tc:8.1f} MB/s")
print(f"  llvm-readelf -S -r -s, one run:   {tr:7.3f} s  {mb/tr:8.1f} MB/s")
print(f"  ratio readelf/check: {tr/tc:5.2f}x  (target >= 1: check at least as fast) {'ok' if tc <= tr else 'MISSED'}")
print(f"  layout, one process per file (200 files):       {tl:7.3f} s  ({tl/200*1e3:.1f} ms per file)")
print(f"  llvm-readelf, one process per file (200 files): {tr1:7.3f} s  ({tr1/200*1e3:.1f} ms per file)")
print(f"  ratio readelf/layout: {tr1/tl:5.2f}x (both dominated by loading libLLVM.so)")
PY
