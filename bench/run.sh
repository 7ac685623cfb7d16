#!/usr/bin/env bash
# Runs the benchmarks in one go and prints ratios against the peers and the
# targets of the runtime's specification.  Usage: bench/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/default}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

bench="$build/bench/percpu-bench"
common=(--benchmark_format=json --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
# Every repetition is kept (min/median/max are printed, so that a regression
# can be told from noise).
reps=(--benchmark_format=json --benchmark_repetitions=5)
"$bench" "${reps[@]}" --benchmark_min_time=0.2 > "$out/main.json"
PERCPU_RSEQ=0 "$bench" "${common[@]}" --benchmark_min_time=0.2 \
  --benchmark_filter='BM_this_cpu_inc/' > "$out/fallback.json"
"$build/bench/percpu-memory-bench" > "$out/memory.txt"

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    """Median of each benchmark, and the list of its repetitions' times."""
    d = json.load(open(os.path.join(out, name)))
    r, reps = {}, {}
    for b in d["benchmarks"]:
        if b.get("aggregate_name") == "median":
            r[b["run_name"]] = b
        elif b.get("run_type") == "iteration":
            reps.setdefault(b["run_name"], []).append(to_ns(b))
    return r, reps
def to_ns(b):
    return b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
m, mreps = load("main.json")
f, _ = load("fallback.json")
def ns(d, name):
    return to_ns(d[name])
def spread(name):
    v = sorted(mreps[name])
    return v[0], v[len(v) // 2], v[-1]

rows = []
inc1 = ns(m, "BM_this_cpu_inc/real_time/threads:1")
inc2 = ns(m, "BM_this_cpu_inc/real_time/threads:2")
bare1 = ns(m, "BM_bare_rseq_add/real_time/threads:1")
bare2 = ns(m, "BM_bare_rseq_add/real_time/threads:2")
tls = ns(m, "BM_thread_local_inc/real_time/threads:1")
sft1 = ns(m, "BM_this_cpu_inc_unit_shift/real_time/threads:1")
sft2 = ns(m, "BM_this_cpu_inc_unit_shift/real_time/threads:2")
sh1 = ns(m, "BM_shared_atomic_inc/real_time/threads:1")
sh2 = ns(m, "BM_shared_atomic_inc/real_time/threads:2")
gc1 = ns(m, "BM_getcpu_array_atomic_inc/real_time/threads:1")
add1 = ns(m, "BM_this_cpu_add/real_time/threads:1")
fb1 = ns(f, "BM_this_cpu_inc/real_time/threads:1")
# Google Benchmark's real time for N threads is wall time per iteration of one
# thread; per-operation cost across the machine is what a user compares.
print("this_cpu operations (ns per operation, median of 5)")
print(f"  {'operation':44s} {'1 thread':>9s} {'2 threads':>10s}")
def row(name, a, b=None):
    print(f"  {name:44s} {a:9.2f} " + (f"{b:10.2f}" if b is not None else f"{'':10s}"))
nd1 = ns(m, "BM_this_cpu_inc_no_disarm/real_time/threads:1")
row("this_cpu_inc (rseq; unit offset from the table)", inc1, inc2)
row("this_cpu_inc, PCPU_RSEQ_UNIT_SHIFT", sft1, sft2)
row("this_cpu_inc, PCPU_RSEQ_NO_DISARM", nd1)
row("this_cpu_add on alloc_percpu (rseq)", add1)
row("this_cpu_inc (atomic fallback, PERCPU_RSEQ=0)", fb1)
pc_1, pc_2 = ns(m, "BM_pool_cpu_inc/real_time/threads:1"), ns(m, "BM_pool_cpu_inc/real_time/threads:2")
pm_1, pm_2 = ns(m, "BM_pool_mm_cid_inc/real_time/threads:1"), ns(m, "BM_pool_mm_cid_inc/real_time/threads:2")
row("pcpu_pool_this_inc, PCPU_POOL_CPU", pc_1, pc_2)
row("pcpu_pool_this_inc, PCPU_POOL_MM_CID", pm_1, pm_2)
row("bare hand-written rseq add (floor)", bare1, bare2)
row("thread_local increment", tls)
row("shared relaxed atomic fetch_add", sh1, sh2)
row("sched_getcpu() + padded array + atomic", gc1)
print()
def target(label, value, ok):
    print(f"  {label:60s} {value:8.2f}x  {'ok' if ok else 'MISSED'}")
print("ratios (targets)")
target("this_cpu_inc vs thread_local (<= 1.0)", inc1 / tls, inc1 <= tls)
target("this_cpu_inc vs bare rseq add (<= 1.1)", inc1 / bare1, inc1 / bare1 <= 1.1)
target("this_cpu_inc, PCPU_RSEQ_UNIT_SHIFT vs bare rseq add", sft1 / bare1, True)
target("this_cpu_inc: shift / table (< 1: the shift would be faster)", sft1 / inc1, True)
target("this_cpu_inc (no disarm store) vs bare rseq add (<= 1.1)", nd1 / bare1, nd1 / bare1 <= 1.1)
target("shared atomic (2 threads) / this_cpu_inc (2 threads) (>= 8)", sh2 / inc2, sh2 / inc2 >= 8)
target("sched_getcpu+atomic / this_cpu_inc", gc1 / inc1, True)
target("pool by mm_cid / this_cpu_inc", pm_1 / inc1, True)
target("atomic fallback / this_cpu_inc", fb1 / inc1, True)
print()
print("counters (ns per increment, median of 5)")
pc1, pc2 = ns(m, "BM_percpu_counter_inc/real_time/threads:1"), ns(m, "BM_percpu_counter_inc/real_time/threads:2")
mx1, mx2 = ns(m, "BM_mutex_counter_inc/real_time/threads:1"), ns(m, "BM_mutex_counter_inc/real_time/threads:2")
ll1, ll2 = ns(m, "BM_local_lock_inc/real_time/threads:1"), ns(m, "BM_local_lock_inc/real_time/threads:2")
row("percpu_counter_inc", pc1, pc2)
row("shared relaxed atomic fetch_add", sh1, sh2)
row("mutex-held counter", mx1, mx2)
row("local_lock + plain increment + local_unlock", ll1, ll2)
target("shared atomic / percpu_counter_inc, 2 threads", sh2 / pc2, True)
target("mutex counter / percpu_counter_inc, 2 threads", mx2 / pc2, True)
target("local_lock section / mutex section, 1 thread (uncontended; <= 2)", ll1 / mx1, ll1 / mx1 <= 2)
target("local_lock section / mutex counter, 2 threads", ll2 / mx2, True)
print()
print("scaling: ns per operation per thread (wall time of one thread's iteration), median of 5")
counts = sorted({int(k.rsplit(":", 1)[1]) for k in m if k.startswith("BM_this_cpu_inc/real_time/threads:")})
peers = (("this_cpu_inc", "BM_this_cpu_inc"), ("shared atomic", "BM_shared_atomic_inc"),
         ("thread_local", "BM_thread_local_inc"), ("percpu_counter_inc", "BM_percpu_counter_inc"))
print("  " + f"{'threads':>8s}" + "".join(f"{label:>20s}" for label, _ in peers) + "   shared/this_cpu  percpu_counter/this_cpu")
for n in counts:
    v = [ns(m, f"{name}/real_time/threads:{n}") for _, name in peers]
    print("  " + f"{n:8d}" + "".join(f"{x:20.2f}" for x in v) + f"   {v[1]/v[0]:15.2f}x  {v[3]/v[0]:22.2f}x")
print()
print("percpu_ref_get + percpu_ref_put against a shared atomic refcount (ns per pair per thread, median of 5)")
for n in counts:
    r, a = ns(m, f"BM_percpu_ref_get_put/real_time/threads:{n}"), ns(m, f"BM_shared_refcount_get_put/real_time/threads:{n}")
    print(f"  {n:3d} threads: percpu_ref {r:7.2f}   shared atomic {a:7.2f}   shared/percpu_ref {a/r:6.2f}x")
print()
print("pcpu_pool_alloc + pcpu_pool_free (PCPU_POOL_CPU; free clears every unit's copy) against malloc + free")
for size in (8, 64, 256):
    lo, p, hi = spread(f"BM_pool_alloc_free/{size}")
    q = ns(m, f"BM_malloc_free/{size}")
    print(f"  {size:4d} bytes: {lo:7.2f} / {p:7.2f} / {hi:7.2f} ns  (malloc+free {q:6.2f} ns, {p/q:5.2f}x; target <= 2x: {'ok' if p <= 2*q else 'MISSED'})")
print()
print("alloc_percpu + free_percpu (ns per pair: min / median / max of 5 repetitions)")
for size in (8, 64, 256):
    lo, p, hi = spread(f"BM_pcpu_alloc_free/{size}")
    q = ns(m, f"BM_malloc_free/{size}")
    print(f"  {size:4d} bytes: {lo:6.2f} / {p:6.2f} / {hi:6.2f} ns  (malloc+free median {q:6.2f} ns, ratio {p/q:5.2f}x)  "
          f"target median < 60 ns: {'ok' if p < 60 else 'MISSED'}")
for live in (1000, 1000000):
    lo, p, hi = spread(f"BM_pcpu_alloc_free_live/{live}")
    q = ns(m, f"BM_malloc_free_live/{live}")
    print(f"  random 8..256 bytes, {live:>7d} live: {lo:6.2f} / {p:6.2f} / {hi:6.2f} ns per free+alloc "
          f"(malloc+free median {q:6.2f} ns, ratio {p/q:5.2f}x)")
t = ns(m, "BM_pcpu_alloc_1M/iterations:2")
print(f"  reaching 1,000,000 live allocations: {t/1e6:7.1f} ms ({t/1e6:.1f} ns per allocation; Linux's bitmap allocator: 490-3500 ns)")
print()
mem = dict(l.split() for l in open(os.path.join(out, "memory.txt")))
slack = int(mem["slack_per_unit"])
print("committed memory per unit")
print(f"  after start-up: {mem['committed_after_startup']} bytes (static block {mem['static_bytes']} bytes)")
print(f"  after 10,000 allocations of 8..64 bytes ({mem['requested_bytes']} bytes requested): "
      f"{mem['committed_after_10000']} bytes, slack {slack} bytes  target < 4096: {'ok' if slack < 4096 else 'MISSED'}")
PY

echo
echo "the allocator at 16 and 4096 possible CPUs (one process each, PERCPU_NR_CPUS)"
for n in 16 4096; do
  PERCPU_NR_CPUS=$n "$build/bench/percpu-alloc-scale-bench" > "$out/scale-$n.txt"
done
python3 - "$out" <<'PY'
import os, sys
out = sys.argv[1]
r = {n: dict(l.split() for l in open(os.path.join(out, f"scale-{n}.txt"))) for n in (16, 4096)}
def f(n, k): return float(r[n][k])
def spread(n, k): return f"{f(n, k + '_min'):8.2f} / {f(n, k + '_median'):8.2f} / {f(n, k + '_max'):8.2f}"
def target(label, ok): print(f"  {label:86s} {'ok' if ok else 'MISSED'}")
print("  ns, min / median / max of 5 batches")
print(f"  __alloc_percpu (64 B, new pages), 16 CPUs:    {spread(16, 'alloc_ns')}")
print(f"  __alloc_percpu (64 B, new pages), 4096 CPUs:  {spread(4096, 'alloc_ns')}")
ratio = f(4096, "alloc_ns_median") / f(16, "alloc_ns_median")
target(f"4096 / 16 CPUs: {ratio:.2f}x (target <= 2)", ratio <= 2)
print(f"  percpu_counter_sum, 16 CPUs:    {spread(16, 'counter_sum_ns')}")
print(f"  percpu_counter_sum, 4096 CPUs:  {spread(4096, 'counter_sum_ns')}")
ratio = f(4096, "counter_sum_ns_median") / f(16, "counter_sum_ns_median")
target(f"4096 / 16 CPUs: {ratio:.2f}x (target <= 2: it reads the CPUs that counted)", ratio <= 2)
for size in (8, 64, 256):
    p, m = f(16, f"pair_ns_{size}_median"), f(16, f"malloc_pair_ns_{size}_median")
    print(f"  alloc+free {size:3d} B, 16 CPUs:  {spread(16, f'pair_ns_{size}')}   (malloc+free {m:6.2f}, {p/m:5.2f}x)")
    target(f"  alloc+free {size} B median <= 60 ns (it zeroes 16 copies of {size} B on free)", p <= 60)
print(f"  free+alloc 64 B with 10^5 live, 16 CPUs:  {spread(16, 'live_pair_ns')}")
for n in (16, 4096):
    units, chunks = int(r[n]["units"]), int(r[n]["chunks_after_churn"])
    grown = int(r[n]["maps_after_churn"]) - int(r[n]["maps_before"])
    print(f"  mappings, {n:4d} CPUs: {r[n]['maps_before']} at start, {r[n]['maps_after_alloc']} after 10^5 allocations, "
          f"{r[n]['maps_after_churn']} after random frees ({chunks} chunk(s))")
    target(f"  mappings added per unit per chunk: {grown / units / chunks:.2f} (target <= 3)", grown <= 3 * units * chunks)
live = int(r[16]["live_bytes"]) / 1024
pss = int(r[16]["pss_kb_delta"])
print(f"  10^5 x 64 B allocated, nothing written: PSS +{pss} KiB for {live:.0f} KiB live per unit "
      f"(everything resident is the allocator's; stats say <= {int(r[16]['metadata_bytes'])//1024} KiB)")
target(f"  allocator metadata / live bytes: {100*pss/live:.2f}% (target <= 5%)", pss <= 0.05 * live)
for n in (16, 4096):
    units = int(r[n]["units"]); pages = int(r[n]["read_all_pages_per_unit"])
    rss, pss = int(r[n]["read_all_rss_kb_delta"]), int(r[n]["read_all_pss_kb_delta"])
    print(f"  reading both ends of a 1 MiB static variable on every CPU, {n:4d} CPUs: RSS +{rss} KiB, PSS +{pss} KiB")
    # 256 KiB of slack: the process's own pages (stdio, the measurement) move too.
    target(f"  mapped per unit read: {rss / units / pages:.1f} KiB per page read (target <= 4)", rss <= 4 * units * pages + 256)
PY

echo
echo "per-CPU variables in shared objects (bench/shared; min / median / max of 5)"
# Each pair (or trio) runs on its own, its repetitions interleaved: the
# start-up benchmark's process spawning would otherwise slow whatever
# repetition of another benchmark follows it.
for group in this_cpu dlopen startup; do
  "$build/bench/percpu-shared-bench" "${reps[@]}" --benchmark_min_time=0.2 --benchmark_filter="$group" \
    --benchmark_enable_random_interleaving=true > "$out/shared-$group.json"
done
python3 - "$out" <<'PY'
import json, os, sys
d = {"benchmarks": []}
for group in ("this_cpu", "dlopen", "startup"):
    d["benchmarks"] += json.load(open(os.path.join(sys.argv[1], f"shared-{group}.json")))["benchmarks"]
def ns(b): return b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
reps = {}
for b in d["benchmarks"]:
    if b.get("run_type") == "iteration":
        reps.setdefault(b["run_name"], []).append(ns(b))
def med(name): v = sorted(reps[name]); return v[len(v) // 2]
def spread(name, per=1.0): v = sorted(reps[name]); return f"{v[0]/per:9.2f} / {v[len(v)//2]/per:9.2f} / {v[-1]/per:9.2f}"
def target(label, ok): print(f"  {label:86s} {'ok' if ok else 'MISSED'}")
inc = {k: k for k in ("BM_this_cpu_inc_program_var", "BM_this_cpu_inc_library_var_from_program",
                      "BM_this_cpu_inc_library_static_in_library")}
print("  this_cpu_inc, ns per operation (loops of 1000):")
for k, label in (("BM_this_cpu_inc_program_var", "the program's variable"),
                 ("BM_this_cpu_inc_library_var_from_program", "a library's variable, from the program"),
                 ("BM_this_cpu_inc_library_static_in_library", "a library's static variable, in the library")):
    print(f"    {label:44s} {spread(k, 1000)}")
base = med("BM_this_cpu_inc_program_var")
for k, label in (("BM_this_cpu_inc_library_var_from_program", "from the program"),
                 ("BM_this_cpu_inc_library_static_in_library", "in the library")):
    r = med(k) / base
    target(f"    library / program ({label}): {r:.2f}x (target <= 1.15)", r <= 1.15)
print("  dlopen + dlclose, us:")
print(f"    plugin with a per-CPU block                  {spread('BM_dlopen_dlclose_percpu_plugin', 1000)}")
print(f"    the same plugin, plain                       {spread('BM_dlopen_dlclose_plain_plugin', 1000)}")
r = med("BM_dlopen_dlclose_percpu_plugin") / med("BM_dlopen_dlclose_plain_plugin")
target(f"    with / without: {r:.2f}x (target <= 1.3)", r <= 1.3)
print("  start-up (posix_spawn + exit), us:")
print(f"    two libraries with per-CPU data              {spread('BM_startup_two_percpu_libraries/real_time', 1000)}")
print(f"    the same, plain                              {spread('BM_startup_two_plain_libraries/real_time', 1000)}")
r = med("BM_startup_two_percpu_libraries/real_time") / med("BM_startup_two_plain_libraries/real_time")
target(f"    with / without: {r:.2f}x (target <= 1.1)", r <= 1.1)
print(f"    the same, the program with 65536 relocations {spread('BM_startup_big_program_two_percpu_libraries/real_time', 1000)}")
print(f"    the same, plain                              {spread('BM_startup_big_program_two_plain_libraries/real_time', 1000)}")
big = med("BM_startup_big_program_two_percpu_libraries/real_time") - med("BM_startup_big_program_two_plain_libraries/real_time")
small = med("BM_startup_two_percpu_libraries/real_time") - med("BM_startup_two_plain_libraries/real_time")
print(f"    per-CPU cost: {big/1000:.0f} us with the program's relocations, {small/1000:.0f} us without"
      " (a registration reads only the program's symbol relocations)")
PY

echo
echo "start-up with a static per-CPU block: memory (PSS) and time, copy-on-write image against a copy per unit"
python3 - "$build" <<'PY'
import subprocess, sys, time, os
build = sys.argv[1]
def run(kib, cpus, cow):
    env = dict(os.environ, PERCPU_NR_CPUS=str(cpus), PERCPU_COW="1" if cow else "0")
    exe = f"{build}/bench/percpu-static-{kib}k-bench"
    out = subprocess.run([exe], env=env, capture_output=True, text=True, check=True).stdout
    v = dict(l.split() for l in out.splitlines())
    times = []
    for _ in range(10):
        t = time.perf_counter()
        subprocess.run([exe], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    times.sort()
    return int(v["pss_kb"]), times[len(times) // 2] * 1e3
print(f"  {'block':>6s} {'CPUs':>5s} {'PSS KiB (cow)':>14s} {'PSS KiB (copy)':>15s} {'start ms (cow)':>15s} {'start ms (copy)':>16s}")
base = {}
for kib in (64, 1024):
    for cpus in (2, 64, 4096):
        pc, tc = run(kib, cpus, True)
        pp, tp = run(kib, cpus, False)
        base.setdefault(kib, pc)
        print(f"  {kib:>5d}K {cpus:>5d} {pc:>14d} {pp:>15d} {tc:>15.2f} {tp:>16.2f}")
    pc4096, _ = run(kib, 4096, True)
    ratio = pc4096 / base[kib]
    print(f"  {kib}K block, 4096 CPUs of which 2 run vs 2 CPUs: {ratio:.2f}x  (target <= 2): {'ok' if ratio <= 2 else 'MISSED'}")
PY

echo
echo "canonical ranges owned and inaccessible (percpu.ld now) against the previous fragment (64 KiB static block)"
python3 - "$build" <<'PY'
import subprocess, sys, time, os, re
build = sys.argv[1]
exes = {"owned": f"{build}/bench/percpu-static-64k-bench",
        "previous": f"{build}/bench/percpu-static-64k-legacy-bench"}
def sections(exe):
    out = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True, check=True).stdout
    got = {}
    for l in out.splitlines():
        m = re.search(r"\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", l)
        if m:
            got[m.group(1)] = (m.group(2), int(m.group(3), 16))
    return got
def start_ms(exe, cpus):
    env = dict(os.environ, PERCPU_NR_CPUS=str(cpus))
    times = []
    for _ in range(21):
        t = time.perf_counter()
        subprocess.run([exe], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2] * 1e3
print(f"  {'fragment':>9s} {'file bytes':>11s} {'.data..percpu':>14s} {'reservation':>12s} {'start ms 2 CPUs':>16s} {'start ms 4096':>14s}")
res = {}
# Interleaved, so that the machine's drift hits both alike.
t = {k: [[], []] for k in exes}
for _ in range(3):
    for k, exe in exes.items():
        t[k][0].append(start_ms(exe, 2))
        t[k][1].append(start_ms(exe, 4096))
for k, exe in exes.items():
    s = sections(exe)
    pc = s.get(".data..percpu", ("", 0))[1]
    rv = s.get(".percpu.canonical", ("", 0))[1]
    a, b = sorted(t[k][0])[1], sorted(t[k][1])[1]
    res[k] = (a, b)
    print(f"  {k:>9s} {os.path.getsize(exe):>11d} {pc:>14d} {rv:>12d} {a:>16.2f} {b:>14.2f}")
print(f"  start-up owned/previous: {res['owned'][0] / res['previous'][0]:.2f}x at 2 CPUs, "
      f"{res['owned'][1] / res['previous'][1]:.2f}x at 4096")
PY

echo
echo "2 threads updating 16,384 counters while visiting every CPU, PERCPU_NR_CPUS=4096"
printf '  %-24s %8s %16s %18s %14s\n' "kind" "units" "RSS growth KiB" "reserved KiB" "writable KiB"
for kind in alloc cpu mm_cid; do
  PERCPU_NR_CPUS=4096 "$build/bench/percpu-pool-memory-bench" "$kind" > "$out/pool-$kind.txt"
  awk '{ v[$1] = $2 } END { printf "  %-24s %8s %16s %18s %14s\n", v["kind"], v["units"], v["rss_growth_kb"], v["reserved_growth_kb"], v["writable_kb"] }' \
    "$out/pool-$kind.txt"
done

echo
echo "module loading (small module: 10 functions, 1 per-CPU variable; load + 10 lookups + call + unload)"
mods="$build/bench/modules"
export PERCPU_BENCH_SMALL_O="$mods/small.o" PERCPU_BENCH_SMALL_SO="$build/bench/libsmall_module.so"
export PERCPU_BENCH_ZLIB_O="$mods/zlib.o" PERCPU_BENCH_BIG_O="$mods/big.o"
llvm=${PERCPU_LLVM_VERSION:-19}
export PERCPU_BENCH_ZLIB_O_RELOCS=$(/usr/lib/llvm-$llvm/bin/llvm-readelf -r "$mods/zlib.o" | grep -c 'R_X86_64')
export PERCPU_BENCH_BIG_O_RELOCS=$(/usr/lib/llvm-$llvm/bin/llvm-readelf -r "$mods/big.o" | grep -c 'R_X86_64')
"$build/bench/percpu-loader-bench" "${common[@]}" --benchmark_min_time=0.3 > "$out/loader.json"
python3 - "$out/loader.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = {b["run_name"]: b for b in d["benchmarks"] if b.get("aggregate_name") == "median"}
def us(name):
    b = r[name]; return b["real_time"] * {"ns": 1e-3, "us": 1, "ms": 1e3, "s": 1e6}[b["time_unit"]]
ours, so = us("BM_percpu_load_unload"), us("BM_dlopen_dlclose")
print(f"  pcpu_dlopen_mem + dlclose:  {ours:8.1f} us")
print(f"  dlopen + dlclose (.so):     {so:8.1f} us   ratio ours/dlopen {ours/so:5.2f}x (target <= 0.5) {'ok' if ours <= so/2 else 'MISSED'}")
if "BM_orc_lljit" in r:
    orc = us("BM_orc_lljit")
    print(f"  LLVM ORC LLJIT add+remove:  {orc:8.1f} us   ORC/ours {orc/ours:5.2f}x (target >= 4) {'ok' if orc >= 4*ours else 'MISSED'}")
else:
    # (the benchmark says why on stderr: "JIT session error: ...")
    print("  LLVM ORC LLJIT add+remove:  not measured: ORC refused the module (see its error above;"
          " LLVM 19's JITLink takes no R_X86_64_GOTTPOFF, the thread-local the fast paths read)")
for name, label in (("BM_load_zlib", "zlib (libz.a objects)"), ("BM_load_big", "generated module")):
    b = r[name]
    print(f"  relocations per second, {label:22s}: {b['relocs_per_s']/1e6:6.1f} M/s ({int(b['relocs'])} relocations; target >= 20 M/s on the large module)")
PY

echo
"$build/bench/percpu-tls-bench" "$build/bench/tls"

echo
echo "percpu-elfpatch over 1,000 objects"
"$(dirname "$0")/elfpatch/run.sh" "$build"
