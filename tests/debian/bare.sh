#!/usr/bin/env bash
# The README's two commands on a bare Debian 12: a fresh minbase root (bash
# and apt-get, no make, no compiler), the project's tracked files copied in,
# then each command exactly as the README's "two commands" block spells it,
# in order.  Both must succeed.
#   bare.sh SOURCE_DIR CACHE_DIR [COMMAND_NAME...]   (default: every command; e.g. demo)
set -euo pipefail
src=$(cd "$1" && pwd) cache=$2
shift 2
# shellcheck source=root.sh
. "$src/tests/debian/root.sh"
[ "$(id -u)" = 0 ] || { echo "bare.sh: needs root (debootstrap, chroot, mount)"; exit 1; }

# The commands, from the README itself.
mapfile -t commands < <(awk '/^## The two commands/ { on = 1; next } on && /^## / { exit }
                             on && /^bash run.sh / { sub(/ *#.*/, ""); print }' "$src/README.md")
[ ${#commands[@]} = 2 ] || { echo "bare.sh: expected two commands in the README, found: ${commands[*]}"; exit 1; }
if [ $# -gt 0 ]; then
  keep=()
  for c in "${commands[@]}"; do
    for want in "$@"; do [ "${c##* }" = "$want" ] && keep+=("$c"); done
  done
  commands=("${keep[@]}")
fi

root=$cache/bare-root
debian_root_remove "$root"
trap 'debian_root_remove "$root"' EXIT
debian_root_make "$cache" "$root"
mkdir -p "$root/percpu"
git -C "$src" ls-files -z | tar -C "$src" --null -T - -cf - | tar -C "$root/percpu" -xf -
for c in "${commands[@]}"; do
  echo "=== bare Debian 12: $c ==="
  start=$SECONDS
  debian_root_run "$root" bash -c "cd /percpu && $c"
  echo "=== $c: ok in $((SECONDS - start)) s ==="
done
echo "bare debian ok"
