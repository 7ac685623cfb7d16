#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds a user's project
# against it twice: with CMake (find_package + percpu_add_host) and with
# pkg-config; runs both programs.
#   consumer_test.sh BUILD_DIR SOURCE_DIR C_COMPILER
set -euo pipefail
build=$1 src=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/percpu/percpu.h"
test -f "$tmp/prefix/include/percpu/linux.h"
test -f "$tmp/prefix/include/percpu/arch/x86_64.h"
test -f "$tmp/prefix/share/percpu/percpu.ld"
test -f "$tmp/prefix/include/percpu/loader.h"
test -f "$tmp/prefix/include/percpu/module.h"
test -f "$tmp/prefix/include/percpu/loader.hpp"

cmake -S "$src/testdata/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
"$tmp/cmake-build/app"
"$tmp/cmake-build/plugin_host" "$tmp/cmake-build/plugin.o"
"$tmp/cmake-build/plugin_host_cxx" "$tmp/cmake-build/plugin.o"
# The same from a C-only project (project(... C)): the targets bring the
# C++ runtime they need.
cmake -S "$src/testdata/consumer_c" -B "$tmp/c-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$tmp/c-build" >/dev/null
"$tmp/c-build/app"
"$tmp/c-build/plugin_host" "$tmp/cmake-build/plugin.o"
test -x "$tmp/prefix/bin/percpu-elfpatch"
test -x "$tmp/prefix/bin/percpu-load"
"$tmp/prefix/bin/percpu-elfpatch" check "$tmp/cmake-build/plugin.o"

libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -1)
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs percpu)
# shellcheck disable=SC2086
"$cc" -o "$tmp/app-pc" "$src/testdata/consumer/main.c" $flags
"$tmp/app-pc"
echo "consumer ok"
