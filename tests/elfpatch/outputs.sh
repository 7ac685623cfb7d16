#!/usr/bin/env bash
# The tool's outputs never hurt what they are pointed at, and every failed
# write fails the command:
#  - -o through a symbolic link writes its target (the link stays), and a
#    dangling link gets its target created, as cp does;
#  - -o to something that is not a regular file is written through, never
#    replaced: a FIFO stays a FIFO and its reader gets the object, a device
#    node stays one (as root: a rename over /dev/null used to destroy it),
#    /dev/stdout prints the report;
#  - -o to a directory is refused, with nothing left behind;
#  - standard output that cannot be written (/dev/full) exits 2 with a message.
#   outputs.sh ELFPATCH OBJECT
set -euo pipefail
tool=$(realpath "$1") obj=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "outputs: $*" >&2; exit 1; }

echo old > real.json
ln -s real.json link.json
"$tool" check --format json -o link.json "$obj" > /dev/null
[ -L link.json ] || fail "-o link.json replaced the link"
grep -q '"diagnostics"' real.json || fail "-o link.json did not write its target"

ln -s missing.json dangling.json
"$tool" check --format json -o dangling.json "$obj" > /dev/null
[ -L dangling.json ] || fail "-o through a dangling link replaced the link"
grep -q '"diagnostics"' missing.json || fail "the dangling link's target was not created"

out=$("$tool" check --format json -o /dev/stdout "$obj")
grep -q '"diagnostics"' <<<"$out" || fail "check -o /dev/stdout printed no report"

mkfifo fifo
(wc -c < fifo > got.txt) &
"$tool" patch "$obj" -o fifo
wait
[ -p fifo ] || fail "patch -o FIFO replaced the FIFO"
[ "$(cat got.txt)" -gt 64 ] || fail "the FIFO's reader got $(cat got.txt) bytes"

if [ "$(id -u)" = 0 ] && mknod null c 1 3 2>/dev/null; then
  "$tool" patch "$obj" -o null
  [ -c null ] || fail "patch -o a character device replaced the device node"
  echo "outputs: device node checked"
fi

mkdir dir
set +e
"$tool" patch "$obj" -o dir > msg.txt 2>&1
status=$?
set -e
[ "$status" = 2 ] || fail "patch -o a directory exited $status, expected 2"
grep -q 'is a directory' msg.txt || fail "patch -o a directory said: $(cat msg.txt)"
[ -z "$(ls -A dir)" ] || fail "patch -o a directory left files in it"

for cmd in "layout $obj" "check --format json $obj"; do
  set +e
  # shellcheck disable=SC2086
  "$tool" $cmd > /dev/full 2> msg.txt
  status=$?
  set -e
  [ "$status" = 2 ] || fail "$cmd > /dev/full exited $status, expected 2"
  grep -q 'cannot write to standard output' msg.txt || fail "$cmd > /dev/full said: $(cat msg.txt)"
done
echo "outputs ok"
