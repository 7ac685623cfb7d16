#!/usr/bin/env bash
# libgcc.a's decimal floating point (its BID members keep the rounding mode
# and flags in general-dynamic thread-local variables) as a module: libgcc.a's
# members and testdata/thirdparty/decimal.c linked with `percpu-elfpatch
# link`, loaded by percpu-load (which resolves nothing of it elsewhere:
# the module's own definitions come first), print what the same source linked into a
# program prints, and compute the same in 4 threads.
# Usage: libgcc_decimal.sh ELFPATCH PERCPU_LOAD CC LLD SRC
set -euo pipefail
elfpatch=$1 load=$2 cc=$3 lld=$4 src=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
libgcc=$("$cc" -print-libgcc-file-name)
mkdir "$work/members"
(cd "$work/members" && ar x "$libgcc")
# ld -r cannot mix -fsplit-stack objects with the rest: the split-stack
# support (morestack.o, generic-morestack*.o) stays out.
rm -f "$work"/members/*morestack*.o
ls "$work/members" | grep -q '^bid128_add' || { echo "FAIL: no BID members in $libgcc"; exit 1; }
"$cc" -O2 -fPIC -c "$src/testdata/thirdparty/decimal.c" -o "$work/decimal.o"
"$elfpatch" link --ld "$lld" -o "$work/module.o" "$work/decimal.o" "$work"/members/*.o
"$cc" -O2 -DDECIMAL_PROGRAM "$src/testdata/thirdparty/decimal.c" -o "$work/program"
want=$("$work/program")
got=$("$load" --call decimal_print --call decimal_threads --stats "$work/module.o")
echo "$got"
[ "$(head -1 <<<"$got")" = "$want" ] || { echo "FAIL: module printed '$(head -1 <<<"$got")', the program '$want'"; exit 1; }
grep -Eq "module\.o +[0-9]+ +[1-9][0-9]*$" <<<"$got" || { echo "FAIL: no thread-local bytes reported"; exit 1; }
echo "libgcc decimal ok"
