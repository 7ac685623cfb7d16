#!/usr/bin/env bash
# Builds a fuzzer with clang (-fsanitize=fuzzer,address,undefined) and runs it
# for a bounded time over a seed corpus of objects.
#   run_fuzz.sh elfpatch|loader SRC_DIR LLVM_BINDIR WORK_DIR SECONDS SEED_DIR...
set -euo pipefail
target=$1 src=$2 bindir=$3 work=$4 seconds=$5
shift 5
llvm_prefix=$(dirname "$bindir")
mkdir -p "$work/objs" "$work/corpus"
cxx="$bindir/clang++"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
       -I"$src/src/elfpatch/include" -I"$src/src/loader/include" -I"$src/src/runtime/include"
       -I"$src/arch/x86_64/include" -isystem "$llvm_prefix/include"
       -D_GNU_SOURCE -D__STDC_CONSTANT_MACROS -D__STDC_FORMAT_MACROS -D__STDC_LIMIT_MACROS)
sources=("$src"/src/elfpatch/*.cpp "$src/arch/x86_64/ElfTarget.cpp" "$src/arch/aarch64/ElfTarget.cpp")
link=()
if [ "$target" = loader ]; then
  sources+=("$src/src/loader/Loader.cpp" "$src/src/runtime/core.cc" "$src/src/runtime/space.cc")
  link=(-Wl,-T,"$src/src/runtime/percpu.ld" -ldl)
fi
objs=()
for s in "${sources[@]}" "$src/tests/fuzz/${target}_fuzz.cpp"; do
  o="$work/objs/$(echo "$s" | tr '/' '_').o"
  if [ ! -e "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find "$src/src/elfpatch/include" -newer "$o" -print -quit)" ]; then
    "$cxx" "${flags[@]}" -c "$s" -o "$o"
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
for d in "$@"; do
  while IFS= read -r o; do cp "$o" "$work/corpus/seed$((n++)).o"; done < <(find "$d" -name '*.o' -size -256k)
done
echo "fuzz: $(ls "$work/corpus" | wc -l) seeds, ${seconds}s"
(cd "$work" && "$work/${target}_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
  -seed="${PERCPU_FUZZ_SEED:-1}" -print_final_stats=1 "$work/corpus" 2>&1 | tail -15)
echo "fuzz ok"
