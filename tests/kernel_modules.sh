#!/usr/bin/env bash
# check, layout and patch on kernel-style modules (testdata/kernel/modules),
# built as kernel modules are built (x86-64: gcc -mcmodel=kernel
# -mno-red-zone -fno-PIE, %gs accessors in inline asm; arm64: clang
# cross-compiled, tpidr_el1), several objects combined with `ld -r` into a
# .ko with .modinfo.  Clean modules give no diagnostic; each seeded bug is
# reported once, at its instruction.
#   kernel_modules.sh ELFPATCH LLVM_BINDIR CC CLANG SOURCE_DIR
set -euo pipefail
tool=$1 bindir=$2 cc=$3 clang=$4 src=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "kernel modules: $*" >&2; exit 1; }
srcdir=$src/testdata/kernel/modules
map=$srcdir/System.map

run() { # $1: expected status; then the command.  Output in $out.
  local want=$1 status
  shift
  set +e
  out=$("$@" 2>&1)
  status=$?
  set -e
  [ "$status" = "$want" ] || fail "$* exited $status, expected $want:
$out"
}
only_error() { # $1: rule, $2: text; exactly one error line, with both
  local n
  n=$(grep -c ': error: ' <<<"$out" || true)
  [ "$n" = 1 ] || fail "expected exactly one error, got $n:
$out"
  grep -q "\\[$1\\]" <<<"$out" || fail "expected rule $1:
$out"
  grep -qF -- "$2" <<<"$out" || fail "expected \"$2\":
$out"
}
reloc_offset() { # $1: object, $2: symbol: offset in .text of its last relocation there
  "$bindir/llvm-readelf" -r "$1" | awk -v s="$2" '/Relocation section .\.rela\.text/ {t=1; next}
    /Relocation section/ {t=0} t && $5 == s {o = $1; sub(/^0+/, "", o); last = (o == "" ? "0" : o)}
    END {print last}'
}

for arch in x86_64 aarch64; do
  d=$tmp/$arch
  mkdir -p "$d"
  if [ $arch = x86_64 ]; then
    build() { "$cc" -O2 -mcmodel=kernel -mno-red-zone -fno-PIE -fno-pic -ffreestanding -fno-asynchronous-unwind-tables \
                "$@"; }
    ldr() { ld -r "$@"; }
  else
    build() { "$clang" --target=aarch64-linux-gnu -O2 -fno-PIE -fno-pic -ffreestanding -mgeneral-regs-only \
                -fno-asynchronous-unwind-tables "$@"; }
    ldr() { "$bindir/ld.lld" -r "$@"; }
  fi
  for f in counter helper other bug_direct bug_extern bug_vmlinux big; do
    build -I"$srcdir" -c "$srcdir/$f.c" -o "$d/$f.o"
  done
  build -I"$srcdir" -DHALF_NAME=half_a -c "$srcdir/half.c" -o "$d/half_a.o"
  build -I"$srcdir" -DHALF_NAME=half_b -c "$srcdir/half.c" -o "$d/half_b.o"
  ldr "$d/counter.o" "$d/helper.o" -o "$d/counter.ko"
  for f in other bug_direct bug_extern bug_vmlinux big half_a half_b; do ldr "$d/$f.o" -o "$d/$f.ko"; done
  cd "$d"

  # Clean: nothing at all with vmlinux's symbols; without them, one note.
  run 0 "$tool" check --kernel-symbols "$map" counter.ko other.ko
  [ -z "$out" ] || fail "$arch: clean modules gave diagnostics:
$out"
  run 0 "$tool" check counter.ko other.ko
  [ "$(grep -c ': note: ' <<<"$out")" = 1 ] && ! grep -q ': error: ' <<<"$out" ||
    fail "$arch: expected one note about vmlinux's symbols:
$out"
  grep -q -- "--kernel-symbols" <<<"$out" || fail "$arch: the note does not say what to pass: $out"

  # Seeded bugs, each once, at its instruction.
  run 1 "$tool" check --kernel-symbols "$map" other.ko bug_direct.ko
  only_error direct-access "bug_direct.ko:(.text+0x$(reloc_offset bug_direct.ko bug_counter)): error:"
  run 1 "$tool" check --kernel-symbols "$map" other.ko bug_extern.ko
  only_error kind-mismatch "bug_extern.ko:(.text+0x$(reloc_offset bug_extern.ko other_module_hits)): error:"
  grep -q "per-CPU data defined at other.ko" <<<"$out" || fail "$arch: kind-mismatch does not name the definition: $out"
  run 1 "$tool" check --kernel-symbols "$map" bug_vmlinux.ko
  only_error direct-access "vmlinux's per-CPU '__preempt_count'"
  grep -qF "bug_vmlinux.ko:(.text+0x$(reloc_offset bug_vmlinux.ko __preempt_count)): error:" <<<"$out" ||
    fail "$arch: vmlinux direct access not at its instruction: $out"
  run 0 "$tool" check bug_vmlinux.ko # not seen without vmlinux's symbols: a note
  grep -q ': note: ' <<<"$out" || fail "$arch: no note without --kernel-symbols: $out"
  run 1 "$tool" check --kernel-symbols "$map" big.ko
  only_error block-budget "module reserve of 8192 bytes"
  run 0 "$tool" check --kernel-symbols "$map" half_a.ko
  run 1 "$tool" check --kernel-symbols "$map" half_a.ko half_b.ko
  only_error block-budget "add up to"
  run 0 "$tool" check --kernel-symbols "$map" --max-block 16K half_a.ko half_b.ko

  if [ $arch = x86_64 ]; then
    # vmlinux and Module.symvers + System.map as --kernel-symbols.
    build -I"$srcdir" -c "$srcdir/vmlinux.c" -o vmlinux.o
    ld -static -e _start -T "$src/src/runtime/percpu.ld" vmlinux.o -o vmlinux 2>/dev/null ||
      ld -static -e _start vmlinux.o -o vmlinux
    run 1 "$tool" check --kernel-symbols vmlinux bug_vmlinux.ko
    only_error direct-access "vmlinux's per-CPU '__preempt_count'"
    run 0 "$tool" check --kernel-symbols vmlinux counter.ko other.ko
    [ -z "$out" ] || fail "vmlinux as --kernel-symbols: $out"
    printf '0x12345678\t__preempt_count\tvmlinux\tEXPORT_SYMBOL\n' > Module.symvers
    run 1 "$tool" check --kernel-symbols Module.symvers --kernel-symbols "$map" bug_vmlinux.ko
    only_error direct-access "vmlinux's per-CPU '__preempt_count'"
    run 2 "$tool" check --kernel-symbols Module.symvers bug_vmlinux.ko
    grep -q "Module.symvers alone does not say which symbols are per-CPU" <<<"$out" || fail "symvers alone: $out"
    echo "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package" > placeholder.map
    run 2 "$tool" check --kernel-symbols placeholder.map bug_vmlinux.ko
    grep -q "a placeholder" <<<"$out" || fail "placeholder System.map: $out"
  fi

  # layout: the kernel's allocation, no mapping symbols, both kmod_local.
  run 0 "$tool" layout counter.ko
  grep -q "per-CPU block of a kernel module" <<<"$out" || fail "$arch: layout: $out"
  grep -q "kernel allocation: .* of the 8192-byte module reserve" <<<"$out" || fail "$arch: layout totals: $out"
  [ "$(grep -c '^  kmod_local  ' <<<"$out")" = 2 ] || fail "$arch: layout lost a kmod_local: $out"
  ! grep -q '\$[dx]' <<<"$out" || fail "$arch: layout lists mapping symbols: $out"
  "$tool" layout --format json counter.ko > base.json

  # patch: readable by every tool, same layout, no drift; --indirect refused.
  run 0 "$tool" patch counter.ko -o counter.patched.ko
  readelf -a -W counter.patched.ko >/dev/null 2>err.txt && [ ! -s err.txt ] || fail "$arch: readelf: $(cat err.txt)"
  "$bindir/llvm-readobj" --all counter.patched.ko >/dev/null 2>err.txt && [ ! -s err.txt ] ||
    fail "$arch: llvm-readobj: $(cat err.txt)"
  ldr counter.patched.ko -o relinked.o || fail "$arch: ld -r refuses the patched module"
  "$bindir/ld.lld" -r counter.patched.ko -o relinked-lld.o || fail "$arch: ld.lld -r refuses the patched module"
  "$tool" layout --format json counter.patched.ko > after.json
  [ "$(grep -v '"file"' base.json)" = "$(grep -v '"file"' after.json)" ] || fail "$arch: layout changed across patch:
$(diff base.json after.json)"
  run 0 "$tool" check --kernel-symbols "$map" --baseline base.json counter.patched.ko
  [ -z "$out" ] || fail "$arch: patched module drifts or fails: $out"
  run 2 "$tool" patch --indirect counter.ko -o never.ko
  grep -q "a kernel module reaches its per-CPU block through a base register" <<<"$out" || fail "$arch: $out"
  [ ! -e never.ko ] || fail "$arch: --indirect wrote an output"
  cd - >/dev/null
done
echo "kernel modules ok"
