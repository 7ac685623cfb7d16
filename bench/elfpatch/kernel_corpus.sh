#!/usr/bin/env bash
# check over every module of Debian's kernel packages, in one process, against
# llvm-readelf -S -r -s over the same files (also one process): the ratio is
# what the CI gate costs next to merely reading the tables.  Runs each three
# times and prints the medians.
#   kernel_corpus.sh BUILD_DIR CACHE
set -euo pipefail
build=$1 cache=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
tool=$build/src/elfpatch/percpu-elfpatch
llvm=${PERCPU_LLVM_VERSION:-19}
readelf=/usr/lib/llvm-$llvm/bin/llvm-readelf
median() { sort -n | sed -n 2p; }
for arch in amd64 arm64; do
  root=$("$src/scripts/fetch-kernel-modules.sh" $arch "$cache") || { echo "  $arch: no corpus (download failed)"; continue; }
  mapfile -t mods < <(find "$root/lib/modules" -name '*.ko' | sort)
  bytes=$(cat "${mods[@]}" | wc -c)
  t_check=$(for i in 1 2 3; do s=$(date +%s.%N); "$tool" check "${mods[@]}" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; done | median)
  t_read=$(for i in 1 2 3; do s=$(date +%s.%N); "$readelf" -S -r -s "${mods[@]}" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; done | median)
  python3 - "$arch" "${#mods[@]}" "$bytes" "$t_check" "$t_read" <<'PY'
import sys
arch, n, size, tc, tr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print(f"  {arch}: {n} modules, {size/1e6:.0f} MB: check {tc:.2f} s ({size/1e6/tc:.0f} MB/s), "
      f"llvm-readelf -S -r -s {tr:.2f} s; check is {tr/tc:.1f}x faster (target >= 1)")
PY
done
