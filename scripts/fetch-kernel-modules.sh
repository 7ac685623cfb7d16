#!/usr/bin/env bash
# Downloads and unpacks Debian 12's newest linux-image-6.1.0-*-ARCH-unsigned
# (the kernel's modules, uncompressed, and System.map) into CACHE/ARCH, once,
# and prints the unpacked root.  The arm64 package is fetched with a private
# apt state in CACHE, so the system's architecture list is not touched.
#   fetch-kernel-modules.sh amd64|arm64 CACHE
# Exit status 77 when the package cannot be had (no network, no index).
set -euo pipefail
arch=$1 cache=$2
root=$cache/$arch/root
if [ -f "$cache/$arch/done" ]; then
  echo "$root"
  exit 0
fi
mkdir -p "$cache/$arch"
cd "$cache/$arch"
opts=()
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
  mkdir -p apt/lists/partial apt/cache/archives/partial
  opts=(-o "APT::Architecture=$arch" -o "APT::Architectures=$arch" -o "Dir::State::Lists=$PWD/apt/lists"
        -o Dir::State::Status=/dev/null -o "Dir::Cache=$PWD/apt/cache")
  apt-get "${opts[@]}" -qq update >&2 || { echo "fetch-kernel-modules: apt-get update for $arch failed" >&2; exit 77; }
fi
find_pkg() {
  apt-cache "${opts[@]}" search --names-only "^linux-image-6\\.1\\.0-[0-9]+-$arch-unsigned\$" 2>/dev/null |
    awk '{print $1}' | sort -V | tail -1
}
pkg=$(find_pkg)
if [ -z "$pkg" ] && [ ${#opts[@]} -eq 0 ]; then
  apt-get -qq update >&2 || true
  pkg=$(find_pkg)
fi
[ -n "$pkg" ] || { echo "fetch-kernel-modules: no linux-image-6.1.0-*-$arch-unsigned in the package index" >&2; exit 77; }
rm -f ./*.deb
apt-get "${opts[@]}" -qq download "$pkg" >&2 2>/dev/null ||
  { echo "fetch-kernel-modules: cannot download $pkg" >&2; exit 77; }
rm -rf root
dpkg-deb -x ./*.deb root
rm -f ./*.deb
echo "$pkg" > done
echo "$root"
