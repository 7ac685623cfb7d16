#!/usr/bin/env bash
# The README's two commands, for a bare Debian 12 machine (bash and apt-get,
# not even make):
#   bash run.sh demo    build, then the demo (per-CPU counters in a program
#                       and in two plugins checked, patched and loaded)
#   bash run.sh test    build and run the whole test suite (default -Werror,
#                       ASan+UBSan, TSan and LLVM 14 builds, the arm64 build
#                       under qemu-user, the .deb in a fresh Debian root)
# Other targets are the Makefile's: bench, bench-loader-vs BASE=COMMIT,
# corpus, install PREFIX=..., package, test-package, test-debian, clean.
# Each run first installs the Debian packages that are missing
# (scripts/install-deps.sh, through apt-get, as root or with sudo).
set -euo pipefail
cd "$(dirname "$0")"
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  # This header, whole: every comment line after the #! line.
  sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0
  exit 2
fi
bash scripts/install-deps.sh
exec make "$@"
