#!/usr/bin/env bash
# `link` checks its inputs before ld.lld sees them (an empty, text or
# truncated file, a linked program, objects of two machines: each named, exit
# 2, nothing written), and what goes wrong after `ld -r` names the module and
# its inputs, not the temporary file in between.
#   link_inputs.sh ELFPATCH LLVM_BINDIR X86_OBJECT AARCH64_OBJECT
set -euo pipefail
tool=$(realpath "$1") bindir=$2 x86=$(realpath "$3") a64=$(realpath "$4")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "link inputs: $*" >&2; exit 1; }

expect_refused() { # $1: text the output must contain, $2...: inputs
  local text=$1 out status
  shift
  set +e
  out=$("$tool" link --ld "$bindir/ld.lld" -o out.o "$@" 2>&1)
  status=$?
  set -e
  [ "$status" = 2 ] || fail "link $* exited $status, expected 2: $out"
  grep -qF -- "$text" <<<"$out" || fail "link $* said: $out (expected: $text)"
  grep -q 'ld.lld' <<<"$out" && fail "link $* let ld.lld see the inputs: $out"
  [ ! -e out.o ] || fail "link $* wrote out.o"
}

: > empty.o
echo 'SECTIONS { }' > script.o
head -c 100 "$x86" > truncated.o
expect_refused "empty.o: error: not an ELF file" empty.o "$x86"
expect_refused "script.o: error: not an ELF file" "$x86" script.o
expect_refused "truncated.o: error:" truncated.o
expect_refused "error: object is for AArch64" "$x86" "$a64"
"$bindir/ld.lld" -shared -o lib.so "$x86"
expect_refused "lib.so: error: not a relocatable object" lib.so

# A per-CPU section in a COMDAT group passes ld -r and fails the patch step.
cat > hot.s <<'S'
    .section .data..percpu,"awG",@progbits,hot_group,comdat
    .globl h
h:  .long 1
S
"$bindir/llvm-mc" -filetype=obj -triple=x86_64-linux-gnu hot.s -o hot.o
set +e
out=$("$tool" link --ld "$bindir/ld.lld" -o mod.o hot.o "$x86" 2>&1)
status=$?
set -e
[ "$status" != 0 ] || fail "link of a per-CPU section in a COMDAT group succeeded"
grep -qF "mod.o (ld -r of hot.o, $x86)" <<<"$out" || fail "the patch step's error does not name the inputs: $out"
grep -q 'percpu-link' <<<"$out" && fail "the temporary file is named: $out"

"$tool" link --ld "$bindir/ld.lld" -o ok.o "$x86" || fail "a good object did not link"
echo "link inputs ok"
