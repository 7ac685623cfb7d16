#!/usr/bin/env bash
# The .deb on a bare Debian 12: installed with apt-get into a fresh minbase
# root (its Depends must bring what it needs), its contents compared with
# `cmake --install`, then the consumer projects built there against the
# package in /usr, with CMake and with pkg-config (tests/consumer_test.sh
# --system).
#   package.sh BUILD_DIR SOURCE_DIR CACHE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) cache=$3
# shellcheck source=root.sh
. "$src/tests/debian/root.sh"
[ "$(id -u)" = 0 ] || { echo "package.sh: needs root (debootstrap, chroot, mount)"; exit 1; }
deb=$(ls -t "$build"/percpu_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "package.sh: no percpu_*.deb in $build (make package)"; exit 1; }

root=$cache/package-root
tmp=$(mktemp -d)
debian_root_remove "$root"
trap 'debian_root_remove "$root"; rm -rf "$tmp"' EXIT
debian_root_make "$cache" "$root"
cp "$deb" "$root/tmp/"
mkdir -p "$root/src/tests" "$root/src/testdata"
cp "$src/tests/consumer_test.sh" "$root/src/tests/"
cp -r "$src/testdata/consumer" "$src/testdata/consumer_c" "$root/src/testdata/"

debian_root_run "$root" bash -c "
  set -e
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends /tmp/${deb##*/} >/tmp/install.log ||
    { cat /tmp/install.log; exit 1; }
  percpu-elfpatch --version
  percpu-load --version
  # What a user adds to build against it: a compiler, CMake, pkg-config.
  apt-get install -y -qq --no-install-recommends g++ make cmake pkg-config >>/tmp/install.log ||
    { cat /tmp/install.log; exit 1; }
  dpkg-query -W -f='\${Depends}\n' percpu
  dpkg -L percpu > /tmp/percpu.list
"
# The package holds exactly what `cmake --install` installs.
cmake --install "$build" --prefix "$tmp/usr" >/dev/null
(cd "$tmp" && find usr ! -type d | sed "s|^|/|" | sort) > "$tmp/install.list"
while IFS= read -r p; do [ -d "$root$p" ] || echo "$p"; done < "$root/tmp/percpu.list" | sort > "$tmp/deb.list"
diff -u "$tmp/install.list" "$tmp/deb.list" || { echo "the .deb differs from cmake --install"; exit 1; }

debian_root_run "$root" bash /src/tests/consumer_test.sh --system /src gcc
echo "package ok"
