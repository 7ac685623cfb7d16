#!/usr/bin/env bash
# Prepares the arm64 libraries the AArch64 build links against (LLVM,
# GoogleTest, CLI11, zlib, zstd), from Debian 12's own arm64 packages, into a
# sysroot inside the build tree:
#   scripts/aarch64-sysroot.sh SYSROOT
# Nothing is installed for arm64 on the machine: apt runs with a private
# configuration, state and cache under SYSROOT/../apt (its own package lists
# for arm64, an empty dpkg status), `apt-get download` fetches the .debs and
# `dpkg-deb -x` unpacks them.  The C library and libstdc++ come from the
# cross packages (libc6-dev-arm64-cross, libstdc++-12-dev-arm64-cross in
# /usr/aarch64-linux-gnu), as the cross compilers use them.
#
# Idempotent: a stamp records the packages and versions unpacked; a second run
# with the same list does nothing (no network).  PERCPU_LLVM_VERSION selects
# LLVM (default 19).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 SYSROOT" >&2; exit 2; }
sysroot=$1
llvm=${PERCPU_LLVM_VERSION:-19}
apt_root=$(dirname "$sysroot")/apt

# Runtime libraries (libLLVM and what it needs at run time under qemu) and
# the development files the build and the tests use.
packages=(
  "libllvm${llvm}" "llvm-${llvm}-dev"
  libedit2 libbsd0 libmd0 libtinfo6 libffi8 libxml2 libicu72 liblzma5 libz3-4
  libzstd1 zlib1g
  zlib1g-dev libzstd-dev libgtest-dev libgmock-dev libcli11-dev
)
stamp=$sysroot/.percpu-sysroot
want="${packages[*]}"
if [ -f "$stamp" ] && [ "$(head -1 "$stamp")" = "$want" ]; then
  exit 0
fi

for tool in apt-get dpkg-deb; do
  command -v $tool >/dev/null || { echo "aarch64-sysroot: $tool is missing" >&2; exit 1; }
done
mkdir -p "$apt_root"/{state/lists/partial,cache/archives/partial,parts,debs}
: > "$apt_root/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { echo "aarch64-sysroot: $keyring is missing (package debian-archive-keyring)" >&2; exit 1; }
mirror=${PERCPU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${PERCPU_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
cat > "$apt_root/sources.list" <<EOF
deb [arch=arm64 signed-by=$keyring] $mirror bookworm main
deb [arch=arm64 signed-by=$keyring] $mirror bookworm-updates main
deb [arch=arm64 signed-by=$keyring] $security bookworm-security main
EOF
apt_opts=(
  -o "Dir::State=$apt_root/state" -o "Dir::State::status=$apt_root/status"
  -o "Dir::Cache=$apt_root/cache" -o "Dir::Etc::SourceList=$apt_root/sources.list"
  -o "Dir::Etc::SourceParts=$apt_root/parts" -o "Dir::Etc::Preferences=$apt_root/none"
  -o "Dir::Etc::PreferencesParts=$apt_root/parts"
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1
  -o APT::Sandbox::User=root -o Acquire::Retries=3
)
echo "aarch64-sysroot: fetching arm64 package lists" >&2
apt-get "${apt_opts[@]}" -qq update
echo "aarch64-sysroot: downloading ${packages[*]}" >&2
rm -f "$apt_root"/debs/*.deb
(cd "$apt_root/debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]}")

rm -rf "$sysroot.new"
mkdir -p "$sysroot.new"
versions=()
for deb in "$apt_root"/debs/*.deb; do
  name=$(dpkg-deb -f "$deb" Package)
  versions+=("$name=$(dpkg-deb -f "$deb" Version)")
  if [ "$name" = "llvm-${llvm}-dev" ]; then
    # Only the headers: its static libraries and CMake package are not used
    # (the build links libLLVM's shared library, found by path).
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$sysroot.new" "./usr/lib/llvm-${llvm}/include" \
      "./usr/include/llvm-${llvm}" "./usr/include/llvm-c-${llvm}"
  else
    dpkg-deb -x "$deb" "$sysroot.new"
  fi
done
rm -rf "$sysroot.new/usr/share/doc" "$sysroot.new/usr/share/lintian"
# Debian's symlinks are absolute (libz.so -> /lib/aarch64-linux-gnu/...):
# inside a sysroot they must be relative to it.
while IFS= read -r link; do
  target=$(readlink "$link")
  case $target in
    /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot.new$target")" "$link" ;;
  esac
done < <(find "$sysroot.new" -type l)
# Debian 12 is merged-/usr: /lib is /usr/lib.
[ -e "$sysroot.new/lib" ] || ln -s usr/lib "$sysroot.new/lib"
if [ -d "$sysroot.new/lib" ] && [ ! -L "$sysroot.new/lib" ]; then
  cp -a "$sysroot.new/lib/." "$sysroot.new/usr/lib/" && rm -rf "$sysroot.new/lib" && ln -s usr/lib "$sysroot.new/lib"
fi
{ echo "$want"; printf '%s\n' "${versions[@]}"; } > "$sysroot.new/.percpu-sysroot"
rm -rf "$sysroot"
mv "$sysroot.new" "$sysroot"
echo "aarch64-sysroot: $sysroot ready (${#versions[@]} packages)" >&2
