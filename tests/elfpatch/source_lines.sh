#!/usr/bin/env bash
# Diagnostics at source lines: a direct access compiled with -g (gcc and
# clang, -O0 and -O2, -fPIE and -fPIC, and -gz) is reported with the source
# file, line and function -- in the text (lld's ">>> referenced by" line),
# in JSON ("source") and in SARIF (the result's region on the source file,
# the object a related location) -- and without -g with the function from
# the symbol table; an object with damaged DWARF is still checked.  The expected line is found in the source, not taken
# from the tool.
#   source_lines.sh ELFPATCH CC CLANG SOURCE_DIR
set -euo pipefail
tool=$(realpath "$1") cc=$2 clang=$3 src=$(realpath "$4")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "source lines: $*" >&2; exit 1; }
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include")

cat > fp.c <<'C'
#include <percpu/linux.h>

DEFINE_PER_CPU(long, hits);

long reset_all(int n)
{
    long s = n;
    s += hits; /* the bug: the canonical address read directly */
    return s;
}

long fine(void) { return this_cpu_read(hits); }
C
line=$(grep -n 'the bug' fp.c | cut -d: -f1)

for compiler in "$cc" "$clang"; do
  for flags in "-O0 -fPIE" "-O2 -fPIC" "-O2 -fPIE -gz"; do
    what="$(basename "$compiler") $flags"
    # shellcheck disable=SC2086
    "$compiler" -std=gnu11 -g $flags "${inc[@]}" -c fp.c -o fp.o
    set +e
    out=$("$tool" check fp.o 2>&1)
    status=$?
    set -e
    [ "$status" = 1 ] || fail "$what: check exited $status: $out"
    [ "$(grep -c 'error:' <<<"$out")" = 1 ] || fail "$what: expected one error: $out"
    grep -q "^>>> referenced by $tmp/fp.c:$line\(:[0-9]*\)\? (reset_all)\$" <<<"$out" ||
      fail "$what: no source line $line in: $out"
    "$tool" check --format json -o report.json fp.o > /dev/null || true
    python3 - "$tmp/fp.c" "$line" report.json <<'PY' || fail "$what: JSON"
import json, sys
d = json.load(open(sys.argv[3]))["diagnostics"][0]["source"]
want = {"file": sys.argv[1], "line": int(sys.argv[2]), "function": "reset_all"}
got = {k: d[k] for k in want}
sys.exit(0 if got == want else "json source %r, expected %r" % (got, want))
PY
    "$tool" check --format sarif -o report.sarif fp.o > /dev/null || true
    python3 - "$tmp/fp.c" "$line" report.sarif <<'PY' || fail "$what: SARIF"
import json, sys
r = json.load(open(sys.argv[3]))["runs"][0]["results"][0]
p = r["locations"][0]["physicalLocation"]
ok = (p["artifactLocation"]["uri"] == "file://" + sys.argv[1] and p["region"]["startLine"] == int(sys.argv[2])
      and r["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fp.o")
sys.exit(0 if ok else "sarif result %r" % r)
PY
  done
done

"$cc" -std=gnu11 -O2 -fPIE "${inc[@]}" -c fp.c -o nodebug.o
out=$("$tool" check nodebug.o 2>&1) && fail "check without -g passed: $out"
grep -q '^>>> referenced by nodebug.o:(reset_all)$' <<<"$out" || fail "without -g: $out"
# Objects whose DWARF once crashed LLVM's readers (the fuzzer's finds): the
# check still reports, with the function from the symbol table.
for f in "$src"/testdata/fuzz/elfpatch/dwarf-*.o; do
  set +e
  out=$("$tool" check "$f" 2>&1)
  status=$?
  set -e
  [ "$status" = 1 ] || fail "damaged DWARF in $(basename "$f"): check exited $status: $out"
  grep -q 'error: .*\[\(direct-access\|unsupported-relocation\)\]' <<<"$out" ||
    fail "damaged DWARF in $(basename "$f"): $out"
done
echo "source lines ok"
