#!/usr/bin/env bash
# The demo: build plugins, check and patch them, load them into a host whose
# threads bump per-CPU counters defined in the host and in the plugins, and
# print the per-CPU table.
set -euo pipefail
build=${1:-build/default}
src=$(cd "$(dirname "$0")/.." && pwd)
tool="$build/src/elfpatch/percpu-elfpatch"
out="$build/demo/plugins"
mkdir -p "$out"
cc=${CC:-cc}
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include")

echo "== 1. per-CPU counters in a program (percpu-demo, 4 threads x 1,000,000, migrating)"
"$build/demo/percpu-demo" 4 1000000

echo
echo "== 2. build two plugins (cc -O2 -fPIC -c)"
for p in net_stats latency; do
  "$cc" -O2 -fPIC "${inc[@]}" -c "$src/demo/plugins/$p.c" -o "$out/$p.o"
  echo "  $out/$p.o"
done

echo
echo "== 3. percpu-elfpatch check (the CI gate) and layout"
"$tool" check --max-block 8K "$out/net_stats.o" "$out/latency.o" && echo "  check: clean"
"$tool" layout --cpus "$(nproc)" "$out/net_stats.o" | sed 's/^/  /'

echo
echo "== 4. percpu-elfpatch patch: one .data..percpu section in canonical order"
for p in net_stats latency; do
  "$tool" patch -v "$out/$p.o" -o "$out/$p.patched.o" | sed 's/^/  /'
done

echo
echo "== 5. load the plugins into a host; threads bump host and plugin counters"
"$build/demo/percpu-plugin-demo" "$out/net_stats.patched.o" "$out/latency.patched.o" 4 200000

echo
echo "== 6. the same plugins through percpu-load --stats"
"$build/src/loader/percpu-load" --stats "$out/net_stats.patched.o" 2>&1 | sed 's/^/  /'
