#!/usr/bin/env bash
# Builds a fuzzer with clang (-fsanitize=fuzzer,address,undefined) and runs it
# over a seed corpus of objects for a fixed number of inputs, bounded in time.
#   run_fuzz.sh elfpatch|loader SRC_DIR LLVM_BINDIR WORK_DIR RUNS MAX_SECONDS SEED_DIR...
# The amount of work is the same on every machine: a fresh corpus from the same
# seeds, a fixed random seed (PERCPU_FUZZ_SEED, default 1) and a fixed count
# (PERCPU_FUZZ_RUNS overrides RUNS). libFuzzer's coverage feedback still makes
# two runs differ a little, so a failure prints the input's path; replay it
# with WORK/TARGET_fuzz FILE. MAX_SECONDS only guards against a machine far
# slower than expected. Inputs that once crashed live in testdata/fuzz/TARGET/
# and are always run first.
set -euo pipefail
target=$1 src=$2 bindir=$3 work=$4 runs=${PERCPU_FUZZ_RUNS:-$5} seconds=$6
shift 6
llvm_prefix=$(dirname "$bindir")
rm -rf "$work/corpus"
mkdir -p "$work/objs" "$work/corpus"
cxx="$bindir/clang++"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Wno-deprecated-declarations
       -I"$src/src/elfpatch/include" -I"$src/src/loader/include" -I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include"
       -I"$src/src/runtime" -I"$src/src/loader"
       -isystem "$llvm_prefix/include"
       -D_GNU_SOURCE -D__STDC_CONSTANT_MACROS -D__STDC_FORMAT_MACROS -D__STDC_LIMIT_MACROS)
sources=("$src"/src/elfpatch/*.cpp "$src"/arch/*/Target.cpp)
link=()
if [ "$target" = loader ]; then
  sources+=("$src"/src/loader/*.cpp "$src"/src/loader/passes/*.cpp "$src/arch/x86_64/HostTarget.cpp" "$src/arch/x86_64/libc_data.c" "$src/arch/x86_64/tlsdesc.S" "$src/arch/x86_64/fault.cc" "$src/src/runtime/core.cc" "$src/src/runtime/cpus.cc"
            "$src/src/runtime/space.cc" "$src/src/runtime/guard.cc" "$src/src/runtime/counter.cc" "$src/src/runtime/shared.cc" "$src/src/runtime/program.cc")
  link=(-Wl,-T,"$src/src/runtime/percpu.ld" -ldl)
fi
objs=()
for s in "${sources[@]}" "$src/tests/fuzz/${target}_fuzz.cpp"; do
  o="$work/objs/$(echo "$s" | tr '/' '_').o"
  # Any header of the tree newer than the object rebuilds it (the loader's
  # Internal.h too: a stale object with another Module layout crashes).
  if [ ! -e "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find "$src/src" "$src/arch" -name '*.h' -newer "$o" -print -quit)" ]; then
    case "$s" in
      *.c) "$bindir/clang" -std=c11 "${flags[@]:1}" -c "$s" -o "$o" ;;
      *.S) "$bindir/clang" -c "$s" -o "$o" ;;
      *) "$cxx" "${flags[@]}" -c "$s" -o "$o" ;;
    esac
  fi
  objs+=("$o")
done
"$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" -L"$llvm_prefix/lib" -Wl,-rpath,"$llvm_prefix/lib" \
  -lLLVM "${link[@]}" -o "$work/${target}_fuzz"
# Seeds: the golden and malformed test inputs, assembled, plus every object
# under the given directories.
n=0
for f in "$src"/testdata/elfpatch/golden/*.s; do
  triple=$(sed -n 's/^[#/]* *TRIPLE: *//p' "$f" | head -1)
  if grep -q '^#--- ' "$f"; then
    rm -rf "$work/split" && "$bindir/split-file" "$f" "$work/split"
    for p in "$work/split"/*.s; do
      "$bindir/llvm-mc" -filetype=obj -triple="${triple:-x86_64-linux-gnu}" "$p" -o "$work/corpus/seed$((n++)).o" 2>/dev/null || true
    done
  else
    "$bindir/llvm-mc" -filetype=obj -triple="${triple:-x86_64-linux-gnu}" "$f" -o "$work/corpus/seed$((n++)).o" 2>/dev/null || true
  fi
done
for f in "$src"/testdata/elfpatch/golden/*.yaml "$src"/testdata/elfpatch/malformed/*.yaml; do
  "$bindir/yaml2obj" "$f" -o "$work/corpus/seed$((n++)).o" 2>/dev/null || true
done
for d in "$src/testdata/fuzz/$target" "$@"; do
  [ -d "$d" ] || continue
  while IFS= read -r o; do cp "$o" "$work/corpus/seed$((n++)).o"; done < <(find "$d" -name '*.o' -size -256k)
done
seed=${PERCPU_FUZZ_SEED:-1}
echo "fuzz: $(ls "$work/corpus" | wc -l) seeds, $runs inputs, seed $seed, at most ${seconds}s"
rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*
status=0
(cd "$work" && "$work/${target}_fuzz" -runs="$runs" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -max_len=65536 -seed="$seed" -print_final_stats=1 "$work/corpus") > "$work/fuzz.log" 2>&1 || status=$?
if [ "$status" != 0 ]; then
  # The reason (our harness's message or the sanitizer's report) and where the
  # input was written.
  grep -v -e '^INFO:' -e '^#[0-9]' -e '^[[:space:]]*$' "$work/fuzz.log" | head -60 || true
  echo "fuzz FAILED (exit $status): replay with $work/${target}_fuzz on the input named above;" \
       "keep it under testdata/fuzz/$target/ once fixed"
  exit 1
fi
tail -8 "$work/fuzz.log"
echo "fuzz ok"
