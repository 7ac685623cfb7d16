#!/usr/bin/env bash
# check's SARIF against the SARIF 2.1.0 schema (testdata/sarif), with URI
# formats checked: a clean run, direct accesses on source lines (gcc and
# clang -g) and without DWARF, a type-mismatch, an archive member, an object
# that is not ELF, and sources and objects under a folder whose name needs
# percent-encoding in a URI (a space, '%', '#'). Each report must also
# decode back to the file it names, so code scanning finds the line.
# The validator is first shown to reject a broken report.
#   sarif_schema.sh ELFPATCH CC CLANG SOURCE_DIR LLVM_BINDIR
set -euo pipefail
tool=$(realpath "$1") cc=$2 clang=$3 src=$(realpath "$4") bindir=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "sarif schema: $*" >&2; exit 1; }
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include")

# The Python that has jsonschema with URI format checking (Debian's
# python3-jsonschema and python3-rfc3987; scripts/install-deps.sh installs
# them): a PATH python3 without them does not do.
py=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null &&
     "$p" -c 'import jsonschema, rfc3987; assert "uri" in jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers' 2>/dev/null; then
    py=$p
    break
  fi
done
[ -n "$py" ] || fail "no python3 with jsonschema and rfc3987 (install python3-jsonschema python3-rfc3987)"

dir="$tmp/src dir %41#1"
mkdir -p "$dir"
cd "$dir"
cat > fp.c <<'C'
#include <percpu/linux.h>

DEFINE_PER_CPU(long, hits);

long reset_all(int n)
{
    long s = n;
    s += hits; /* the bug */
    return s;
}

long fine(void) { return this_cpu_read(hits); }
C
cat > ok.c <<'C'
#include <percpu/linux.h>
DEFINE_PER_CPU(long, fine_hits);
long ok(void) { return this_cpu_read(fine_hits); }
C
line=$(grep -n 'the bug' fp.c | cut -d: -f1)
"$cc" -std=gnu11 -g -O2 -fPIC "${inc[@]}" -c fp.c -o gcc.o
"$clang" -std=gnu11 -g -O0 -fPIE "${inc[@]}" -c fp.c -o clang.o
"$cc" -std=gnu11 -O2 -fPIE "${inc[@]}" -c fp.c -o nodebug.o
"$cc" -std=gnu11 -O2 -fPIC "${inc[@]}" -c ok.c -o ok.o
"$bindir/llvm-ar" rc "lib x.a" nodebug.o ok.o
printf 'not an object\n' > text.o
for f in defs uses; do
  "$cc" -g -O2 -fPIC "${inc[@]}" -c "$src/testdata/check_types/$f.c" -o "$f.o"
done

# report NAME EXPECTED-STATUS check-arguments...: writes NAME.sarif
report() {
  local name=$1 want=$2 status
  shift 2
  set +e
  "$tool" check --format sarif -o "$name.sarif" "$@" > /dev/null 2> "$name.err"
  status=$?
  set -e
  [ "$status" = "$want" ] || fail "$name: check exited $status, expected $want: $(cat "$name.err")"
}
report clean 0 ok.o
report gcc 1 gcc.o
report clang 1 clang.o
report nodebug 1 nodebug.o
report archive 1 "lib x.a"
report types 1 defs.o uses.o
report malformed 2 text.o ok.o
report absolute 1 "$dir/gcc.o" "$dir/nodebug.o"

"$py" - "$src/testdata/sarif/sarif-schema-2.1.0.json" "$dir" "$line" <<'PY' || fail "see above"
import copy, json, os, sys, urllib.parse
import jsonschema

schema_path, folder, line = sys.argv[1], sys.argv[2], int(sys.argv[3])
schema = json.load(open(schema_path))
V = jsonschema.Draft202012Validator
V.check_schema(schema)
validator = V(schema, format_checker=V.FORMAT_CHECKER)

def load(name):
    return json.load(open(os.path.join(folder, name + ".sarif")))

def errors(doc):
    return sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))

def valid(name, doc):
    errs = errors(doc)
    for e in errs[:5]:
        print("%s.sarif: %s at %s" % (name, e.message, "/".join(map(str, e.absolute_path))))
    return not errs

# The validator can fail: a broken report is rejected, for its structure
# and for a URI that is not one.
gcc = load("gcc")
assert valid("gcc", gcc), "gcc.sarif does not validate"
for mutate in (lambda d: d.pop("version"),
               lambda d: d["runs"][0]["results"][0].__setitem__("level", "fatal"),
               lambda d: d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
                          ["artifactLocation"].__setitem__("uri", "file:///a b#c#d")):
    broken = copy.deepcopy(gcc)
    mutate(broken)
    assert errors(broken), "the validator accepted a broken report"

def path_of(uri):
    """The file a URI names, relative to the folder check ran in."""
    u = urllib.parse.urlsplit(uri)
    assert u.scheme in ("", "file") and not u.query and not u.fragment, uri
    return urllib.parse.unquote(u.path)

def results(name):
    return load(name)["runs"][0]["results"]

ok = True
for name in ("clean", "gcc", "clang", "nodebug", "archive", "types", "malformed", "absolute"):
    ok = valid(name, load(name)) and ok
    for r in results(name):
        for loc in r["locations"] + r.get("relatedLocations", []):
            p = path_of(loc["physicalLocation"]["artifactLocation"]["uri"])
            target = p if p.startswith("/") else os.path.join(folder, p)
            member = target.endswith(")") and "(" in target
            if not member and not os.path.exists(target):
                print("%s.sarif: %r names no file (%r)" % (name, loc, target))
                ok = False

def expect(cond, what):
    global ok
    if not cond:
        print("expected", what)
        ok = False

expect(results("clean") == [], "no results for a clean object")
for name in ("gcc", "clang"):
    r = results(name)
    expect(len(r) == 1, "one result in %s" % name)
    p = r[0]["locations"][0]["physicalLocation"]
    expect(path_of(p["artifactLocation"]["uri"]) == os.path.join(folder, "fp.c"), "%s on fp.c: %r" % (name, p))
    expect(p.get("region", {}).get("startLine") == line, "%s on line %d: %r" % (name, line, p))
    rel = r[0]["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    expect(path_of(rel) == name + ".o", "%s: the object as related location, got %r" % (name, rel))
r = results("archive")
expect([path_of(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for x in r]
       == ["lib x.a(nodebug.o)"], "the archive member named: %r" % r)
expect(any(x["ruleId"] == "type-mismatch" for x in results("types")), "a type-mismatch result")
expect(any(x["ruleId"] == "malformed" and path_of(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == "text.o"
           for x in results("malformed")), "a malformed result on text.o")
expect(sorted(path_of(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for x in results("absolute"))
       == sorted([os.path.join(folder, "fp.c"), os.path.join(folder, "nodebug.o")]), "absolute paths kept")
sys.exit(0 if ok else 1)
PY
echo "sarif schema ok"
