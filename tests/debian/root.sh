# Sourced by the bare-Debian tests: a fresh `debootstrap --variant=minbase
# bookworm` root (bash and apt-get, nothing else), made once and kept as a
# tarball in the build tree, unpacked anew for every test.
#   debian_root_make CACHE_DIR ROOT   unpack a fresh root into ROOT (which must not exist)
#   debian_root_run ROOT COMMAND...   run COMMAND in ROOT as root, with a clean environment
#   debian_root_remove ROOT           unmount and delete ROOT
# The root reaches the package registry as this machine does: it gets this
# machine's apt sources and settings, nothing else.
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}

debian_root_mirror() {
  local uri
  uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
  echo "${uri:-http://deb.debian.org/debian}"
}

debian_root_make() {
  local cache=$1 root=$2
  local tarball=$cache/$DEBIAN_SUITE-minbase.tar
  if [ ! -f "$tarball" ]; then
    command -v debootstrap >/dev/null || {
      echo "debian-root: installing debootstrap" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    mkdir -p "$cache"
    local stage=$cache/stage.$$
    rm -rf "$stage"
    echo "debian-root: debootstrap --variant=minbase $DEBIAN_SUITE (once, cached in $tarball)" >&2
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$stage" "$(debian_root_mirror)" \
      >"$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log"; rm -rf "$stage"; return 1; }
    tar -C "$stage" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$stage"
  fi
  [ ! -e "$root" ] || { echo "debian-root: $root exists" >&2; return 1; }
  mkdir -p "$root"
  tar -C "$root" -xf "$tarball"
  # This machine's way to the registry (sources, proxies, snapshot settings).
  rm -f "$root"/etc/apt/sources.list
  cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/"
  for f in /etc/apt/apt.conf.d/*; do
    [ -e "$root/etc/apt/apt.conf.d/${f##*/}" ] || cp "$f" "$root/etc/apt/apt.conf.d/"
  done
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys" 2>/dev/null || true
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev" 2>/dev/null || true
}

debian_root_run() {
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

debian_root_remove() {
  local root=$1
  [ -d "$root" ] || return 0
  umount -R "$root/dev" 2>/dev/null || umount -l "$root/dev" 2>/dev/null || true
  umount "$root/sys" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || umount -l "$root/proc" 2>/dev/null || true
  if grep -q " $root/" /proc/mounts; then
    echo "debian-root: $root still has mounts; not deleting it" >&2
    return 1
  fi
  rm -rf --one-file-system "$root"
}
