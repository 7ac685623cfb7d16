#!/usr/bin/env bash
# check over archives and over many errors:
#  - a static library (ar, and a thin archive) is checked member by member,
#    each reported as libx.a(member.o); a member that is not an object is
#    named and fails the check (exit 2), or is skipped with --disable malformed;
#  - after 20 errors the text says how many more there are and how to see
#    them; --error-limit=0 shows all, and JSON always has all.
#   check_inputs.sh ELFPATCH LLVM_BINDIR
set -euo pipefail
tool=$(realpath "$1") bindir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "check inputs: $*" >&2; exit 1; }
mc() { "$bindir/llvm-mc" -filetype=obj -triple=x86_64-linux-gnu "$1" -o "$2"; }
run() { # $1: expected exit status, then check's arguments; prints the output
  local want=$1 out status
  shift
  set +e
  out=$("$tool" check "$@" 2>&1)
  status=$?
  set -e
  [ "$status" = "$want" ] || fail "check $* exited $status, expected $want: $out"
  printf '%s\n' "$out"
}

cat > bad.s <<'S'
    .text
bad: movl hits(%rip), %eax
    ret
    .section .data..percpu,"aw",@progbits
    .globl hits
hits: .long 0
S
cat > good.s <<'S'
    .text
good: leaq other(%rip), %rax
    ret
    .section .data..percpu,"aw",@progbits
    .globl other
other: .long 0
S
mc bad.s bad.o
mc good.s good.o
echo "not an object" > notes.o
"$bindir/llvm-ar" rcs libx.a good.o bad.o
"$bindir/llvm-ar" rcsT libthin.a good.o bad.o
"$bindir/llvm-ar" rcs liby.a good.o notes.o

out=$(run 1 libx.a)
grep -q '^libx.a(bad.o):(.text+0x2): error: .*\[direct-access\]$' <<<"$out" || fail "libx.a: $out"
[ "$(grep -c 'error:' <<<"$out")" = 1 ] || fail "libx.a: one error expected: $out"
out=$(run 1 libthin.a)
grep -q '^libthin.a(.*bad.o):(.text+0x2): error: .*\[direct-access\]$' <<<"$out" || fail "thin archive: $out"
out=$(run 2 liby.a)
grep -q '^liby.a(notes.o): error: not an ELF file' <<<"$out" || fail "liby.a: $out"
run 0 --disable malformed liby.a > /dev/null

{
  echo "    .text"
  for i in $(seq 1 25); do echo "f$i: movl hits(%rip), %eax"; done
  echo "    ret"
  echo '    .section .data..percpu,"aw",@progbits'
  echo "    .globl hits"
  echo "hits: .long 0"
} > many.s
mc many.s many.o
out=$(run 1 many.o)
[ "$(grep -c 'error:' <<<"$out")" = 20 ] || fail "default limit: $(grep -c 'error:' <<<"$out") errors shown"
grep -qx '5 more errors; use --error-limit=0 to see all' <<<"$out" || fail "no 'more errors' line: $out"
out=$(run 1 --error-limit=0 many.o)
[ "$(grep -c 'error:' <<<"$out")" = 25 ] || fail "--error-limit=0 showed $(grep -c 'error:' <<<"$out")"
out=$(run 1 --error-limit 3 many.o)
grep -qx '22 more errors; use --error-limit=0 to see all' <<<"$out" || fail "--error-limit 3: $out"
run 1 --format json -o many.json many.o > /dev/null
[ "$(grep -c '"rule": "direct-access"' many.json)" = 25 ] || fail "JSON does not have all 25"
echo "check inputs ok"
