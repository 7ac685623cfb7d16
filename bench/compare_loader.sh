#!/usr/bin/env bash
# The loader before and after a change, in one script so that the machine's
# noise falls on both alike: BASE_BUILD's and BUILD's percpu-loader-bench run
# in turns (ROUNDS rounds, base first in odd rounds, new first in even ones),
# and the best time of each is compared.  Both load the same module files
# (BUILD's bench/modules).  Prints, per benchmark, the two best times and
# new/base (below 1: faster), and for the relocation benchmarks the rate.
#   bench/compare_loader.sh BASE_BUILD [BUILD [ROUNDS]]
# BASE_BUILD is a build tree of the earlier commit (a git worktree configured
# with the same preset), e.g.
#   git worktree add /tmp/base HEAD~1 && cmake --preset default -S /tmp/base &&
#   cmake --build /tmp/base/build/default --target percpu-loader-bench
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
base=$1 build=${2:-build/default} rounds=${3:-5}
for b in "$base" "$build"; do
  [ -x "$b/bench/percpu-loader-bench" ] ||
    { echo "compare_loader.sh: no $b/bench/percpu-loader-bench (build its target first)" >&2; exit 2; }
done
mods=$build/bench/modules
llvm=${PERCPU_LLVM_VERSION:-19}
readelf=/usr/lib/llvm-$llvm/bin/llvm-readelf
export PERCPU_BENCH_SMALL_O="$mods/small.o" PERCPU_BENCH_SMALL_SO="$build/bench/libsmall_module.so"
export PERCPU_BENCH_ZLIB_O="$mods/zlib.o" PERCPU_BENCH_BIG_O="$mods/big.o"
PERCPU_BENCH_ZLIB_O_RELOCS=$("$readelf" -r "$mods/zlib.o" | grep -c 'R_X86_64\|R_AARCH64')
PERCPU_BENCH_BIG_O_RELOCS=$("$readelf" -r "$mods/big.o" | grep -c 'R_X86_64\|R_AARCH64')
export PERCPU_BENCH_ZLIB_O_RELOCS PERCPU_BENCH_BIG_O_RELOCS
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Each benchmark in a process of its own: what an earlier one left in the
# heap changes the next one's page faults more than a change here does.
for ((i = 1; i <= rounds; ++i)); do
  order="base new"
  [ $((i % 2)) = 0 ] && order="new base"
  for bm in BM_percpu_load_unload BM_load_zlib BM_load_big; do
    for which in $order; do
      dir=$base
      [ "$which" = new ] && dir=$build
      "$dir/bench/percpu-loader-bench" --benchmark_filter="^$bm\$" --benchmark_min_time=0.3 \
        --benchmark_format=json > "$out/$which.$i.$bm.json"
    done
  done
done
python3 - "$out" "$rounds" <<'PY'
import json, os, sys
out, rounds = sys.argv[1], int(sys.argv[2])
scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
best = {"base": {}, "new": {}}
relocs = {}
for which in best:
    for f in sorted(os.listdir(out)):
        if not f.startswith(which + "."):
            continue
        for b in json.load(open(os.path.join(out, f)))["benchmarks"]:
            t = b["real_time"] * scale[b["time_unit"]]
            name = b["name"]
            best[which][name] = min(t, best[which].get(name, t))
            if "relocs" in b:
                relocs[name] = b["relocs"]
print(f"loader, best of {rounds} interleaved rounds (us; new/base below 1 is faster)")
print(f"  {'benchmark':24s} {'base':>10s} {'new':>10s} {'new/base':>9s}")
for name in sorted(best["new"]):
    a, b = best["base"].get(name), best["new"][name]
    if a is None:
        continue
    line = f"  {name:24s} {a:10.1f} {b:10.1f} {b / a:8.2f}x"
    if name in relocs:
        line += f"   {relocs[name] / a:6.1f} -> {relocs[name] / b:6.1f} M relocations/s"
    print(line)
PY
