#!/usr/bin/env bash
# `percpu-elfpatch check` before and after a change, in one script so that the
# machine's noise falls on both alike: BASE_BUILD's and BUILD's tool check the
# 1,000-object corpus of bench/elfpatch/corpus.sh in turns (ROUNDS rounds,
# base first in odd rounds, new first in even ones), all files in one run and
# then one process per file for 200 of them (what a build system does).
# Prints the best time of each and new/base (below 1: faster).
#   bench/compare_check.sh BASE_BUILD [BUILD [ROUNDS]]
# BASE_BUILD is a build tree of the earlier commit with its percpu-elfpatch
# built (`make bench-loader-vs BASE=...` builds it in build/bench-base).
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
base=$1 build=${2:-build/default} rounds=${3:-5}
for b in "$base" "$build"; do
  [ -x "$b/src/elfpatch/percpu-elfpatch" ] ||
    { echo "compare_check.sh: no $b/src/elfpatch/percpu-elfpatch (build its target first)" >&2; exit 2; }
done
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$src/bench/elfpatch/corpus.sh" "$work/corpus"
files=("$work"/corpus/*.o)
printf '%s\n' "${files[@]:0:150}" "${files[@]:950:50}" > "$work/list"
python3 - "$base/src/elfpatch/percpu-elfpatch" "$build/src/elfpatch/percpu-elfpatch" "$rounds" \
  "$work/list" "${files[@]}" <<'PY'
import subprocess, sys, time
base, new, rounds, listfile, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
one = open(listfile).read().split()
def all_at_once(tool):
    t = time.perf_counter()
    subprocess.run([tool, "check", *files], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
def per_file(tool):
    t = time.perf_counter()
    for f in one:
        subprocess.run([tool, "check", f], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
best = {}
for i in range(rounds):
    order = [("base", base), ("new", new)] if i % 2 == 0 else [("new", new), ("base", base)]
    for bench in (all_at_once, per_file):
        for which, tool in order:
            t = bench(tool)
            key = (bench.__name__, which)
            best[key] = min(t, best.get(key, t))
print(f"check over {len(files)} objects, best of {rounds} interleaved rounds (s; new/base below 1 is faster)")
for name, what in (("all_at_once", f"{len(files)} files, one process"),
                   ("per_file", f"{len(one)} files, one process each")):
    a, b = best[(name, "base")], best[(name, "new")]
    print(f"  {what:34s} base {a:7.3f}  new {b:7.3f}  {b / a:5.2f}x")
PY
