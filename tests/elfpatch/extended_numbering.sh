#!/usr/bin/env bash
# Objects with more than 65,279 sections (extended numbering: e_shnum 0,
# SHN_XINDEX, SHT_SYMTAB_SHNDX), as -ffunction-sections makes of big
# translation units:
#   extended_numbering.sh PERCPU_ELFPATCH PERCPU_LOAD LLVM_BINDIR
# The generated object has 33,000 functions, each in its own section, and
# per-CPU variables in a low and in a high section. check must accept it,
# patch must keep every symbol in its section and be a no-op the second time,
# both linkers must take the result, and the loader must run a function whose
# section index is past 65,279 against both.
set -euo pipefail
tool=$1 load=$2 bindir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk 'BEGIN {
  print ".section .data..percpu,\"aw\",@progbits\n.globl per_cpu__low\n.type per_cpu__low,@object\n.size per_cpu__low,8\nper_cpu__low: .quad 7"
  for (i = 0; i < 33000; i++)
    printf ".section .text.f%d,\"ax\",@progbits\n.globl f%d\n.type f%d,@function\nf%d:\n  lea per_cpu__low(%%rip), %%rax\n  lea per_cpu__high(%%rip), %%rcx\n  xor %%eax, %%eax\n  ret\n", i, i, i, i
  print ".section .data..percpu..read_mostly,\"aw\",@progbits\n.globl per_cpu__high\n.type per_cpu__high,@object\n.size per_cpu__high,8\nper_cpu__high: .quad 9"
}' > "$tmp/big.s"
"$bindir/llvm-mc" -filetype=obj -triple=x86_64-linux-gnu "$tmp/big.s" -o "$tmp/big.o"
# (Read the whole header first: grep -q would stop early, and pipefail would
# count llvm-readelf's SIGPIPE as a failure.)
header=$("$bindir/llvm-readelf" -h "$tmp/big.o")
grep -q "Number of section headers: *0 (" <<<"$header" \
  || { echo "the fixture does not use extended numbering"; exit 1; }

"$tool" check "$tmp/big.o"
"$tool" patch "$tmp/big.o" -o "$tmp/patched.o"
"$tool" check "$tmp/patched.o"
"$tool" patch "$tmp/patched.o" -o "$tmp/again.o"
cmp "$tmp/patched.o" "$tmp/again.o" || { echo "patch of a patched object changed it"; exit 1; }

# Every function keeps its section (by name); the per-CPU variables are in the
# merged block.
section_of() { # file symbol -> name of the section defining it
  local idx
  idx=$("$bindir/llvm-readelf" -s "$1" | awk -v s="$2" '$8 == s { print $7 }')
  "$bindir/llvm-readelf" -S "$1" | awk -v i="$idx" '$1 == "[" && $2 == i"]" { print $3 } $1 == "["i"]" { print $2 }'
}
for f in f0 f16000 f32999; do
  want=".text.$f"
  got=$(section_of "$tmp/patched.o" "$f")
  [ "$got" = "$want" ] || { echo "$f: section '$got' after patch, expected '$want'"; exit 1; }
done
for v in per_cpu__low per_cpu__high; do
  got=$(section_of "$tmp/patched.o" "$v")
  [ "$got" = ".data..percpu" ] || { echo "$v: section '$got' after patch, expected .data..percpu"; exit 1; }
done
"$bindir/llvm-readobj" --sections "$tmp/patched.o" > /dev/null

"$bindir/ld.lld" -r "$tmp/patched.o" -o "$tmp/lld.o"
ld -r "$tmp/patched.o" -o "$tmp/bfd.o"
"$tool" check "$tmp/lld.o" "$tmp/bfd.o"

"$load" --call f32999 --call f0 "$tmp/big.o"
"$load" --call f32999 "$tmp/patched.o"
echo "extended numbering ok"
