#!/usr/bin/env bash
# Installs the Debian 12 packages percpu needs, when missing (apt-get; as root
# or through sudo).  Idempotent and quiet when everything is there.
#   scripts/install-deps.sh            everything (build, tests, benchmarks)
# PERCPU_LLVM_VERSION selects the LLVM/Clang/lld version (default 19).
set -euo pipefail

llvm=${PERCPU_LLVM_VERSION:-19}
packages=(
  build-essential cmake ninja-build pkg-config python3
  binutils                               # GNU ld, for the linker fragment tests
  "llvm-${llvm}-dev" "lld-${llvm}" "clang-${llvm}" "libclang-rt-${llvm}-dev"
  lld                                    # the default ld.lld on PATH
  llvm-14-dev lld-14 clang-14            # the oldest supported LLVM, built in CI
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  libzstd-dev libssl-dev zlib1g-dev libsqlite3-dev gdb
  libjpeg-dev uuid-dev                   # real static libraries with thread-local data
  librsvg2-bin libxml2-utils             # render and validate layout --format svg
  python3-jsonschema python3-rfc3987     # validate check --format sarif against its schema
  help2man man-db                        # man pages from --help, and reading them in the test
  binutils-aarch64-linux-gnu bc          # make corpus: GNU ld -r of arm64 modules; timings
  libc6-dev-arm64-cross libstdc++-12-dev-arm64-cross   # AArch64 compile check
  g++-aarch64-linux-gnu qemu-user-static debian-archive-keyring   # the arm64 build and its tests (make test-aarch64)
  debootstrap dpkg-dev file              # make test-package, test-debian; make package (shlibdeps needs file)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
