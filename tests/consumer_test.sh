#!/usr/bin/env bash
# A user's project built on percpu, as the README shows, in every way a user
# can: against the installed package and against the build tree
# (-Dpercpu_DIR), with gcc and clang, with Ninja and Makefiles, as a C++ and a
# C-only project; the plugins are percpu_add_module() targets and the check
# is a percpu_check() build step.  A module with a direct access must fail
# the build, with the diagnostic in the build log.  Then the same with
# pkg-config (percpu, percpu-loader, percpu-module).
#   consumer_test.sh BUILD_DIR SOURCE_DIR C_COMPILER CLANG
#   consumer_test.sh --system SOURCE_DIR C_COMPILER
# --system: percpu is installed in /usr (the .deb); only gcc and Makefiles
# are assumed, and nothing is installed by this script.
set -euo pipefail
if [ "$1" = --system ]; then
  system=1 build= src=$2 cc=$3 clang=
  prefix=/usr
else
  system=0 build=$1 src=$2 cc=$3 clang=$4
fi
clangxx=${clang%clang}clang++
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$system" = 0 ]; then
  prefix=$tmp/prefix
  cmake --install "$build" --prefix "$prefix" >/dev/null
fi
for f in include/percpu/percpu.h include/percpu/linux.h include/percpu/arch/x86_64.h \
         share/percpu/percpu.ld include/percpu/loader.h include/percpu/module.h \
         include/percpu/loader.hpp lib/cmake/percpu/PercpuModule.cmake \
         share/man/man1/percpu-elfpatch.1 share/man/man1/percpu-elfpatch-check.1 \
         share/man/man1/percpu-load.1; do
  test -f "$prefix/$f" || { echo "not installed: $f"; exit 1; }
done
test -x "$prefix/bin/percpu-elfpatch"
test -x "$prefix/bin/percpu-load"

# configure NAME PROJECT_DIR GENERATOR CC CXX PACKAGE_ARGS... : configure and build.
configure_and_build() {
  local name=$1 dir=$2 gen=$3 c=$4 cxx=$5
  shift 5
  cmake -S "$dir" -B "$tmp/$name" -G "$gen" -DCMAKE_C_COMPILER="$c" -DCMAKE_CXX_COMPILER="$cxx" \
    "$@" >"$tmp/$name.configure.log" 2>&1 || { cat "$tmp/$name.configure.log"; return 1; }
  cmake --build "$tmp/$name" >"$tmp/$name.build.log" 2>&1 || { cat "$tmp/$name.build.log"; return 1; }
}

# run_cxx_project NAME: the C++ project's programs with its modules.
run_cxx_project() {
  local b=$tmp/$1
  "$b/app"
  "$b/libapp" "$b/libdlplugin.so"
  "$b/plugin_host" "$b/plugin.o"
  "$b/plugin_host" "$b/plugin_cxx.o"
  "$b/plugin_host_cxx" "$b/plugin.o"
  "$b/plugin_host_cxx" "$b/plugin_cxx.o"
  # The check step ran and wrote its SARIF report (no results: all clean).
  test -f "$b/percpu_check_plugin.stamp"
  grep -q '"results": \[\]' "$b/percpu_check_plugin.sarif"
}

if [ "$system" = 1 ]; then
  installed=()   # found in /usr, as any Debian package
  gen="Unix Makefiles"
else
  installed=(-DCMAKE_PREFIX_PATH="$prefix")
  gen=Ninja
fi
configure_and_build cxx-gcc "$src/testdata/consumer" "$gen" "$cc" c++ "${installed[@]}"
run_cxx_project cxx-gcc
if [ "$system" = 0 ]; then
  configure_and_build cxx-clang-make "$src/testdata/consumer" "Unix Makefiles" "$clang" "$clangxx" \
    "${installed[@]}"
  run_cxx_project cxx-clang-make
  # percpu's own build tree, not installed.
  configure_and_build cxx-buildtree "$src/testdata/consumer" Ninja "$cc" c++ -Dpercpu_DIR="$build"
  run_cxx_project cxx-buildtree
fi
# A C-only project: the targets bring the C++ runtime they need.
configure_and_build c-gcc-make "$src/testdata/consumer_c" "Unix Makefiles" "$cc" c++ "${installed[@]}"
"$tmp/c-gcc-make/app"
"$tmp/c-gcc-make/plugin_host" "$tmp/c-gcc-make/plugin.o"
test -f "$tmp/c-gcc-make/percpu_check_plugin.stamp"
if [ "$system" = 0 ]; then
  configure_and_build c-clang-ninja "$src/testdata/consumer_c" Ninja "$clang" "$clangxx" "${installed[@]}"
  "$tmp/c-clang-ninja/plugin_host" "$tmp/c-clang-ninja/plugin.o"
fi

# A module that fails its CHECK: the build fails, the log names the access,
# no module is left behind, and the next build fails again.
if configure_and_build bad-module "$src/testdata/consumer" "$gen" "$cc" c++ "${installed[@]}" \
     -DCONSUMER_BAD_MODULE=ON >/dev/null; then
  echo "a module with a direct access built"; exit 1
fi
log=$(cat "$tmp/bad-module.build.log")
[[ $log == *"bad_module.o:(.text+0x"*"per-CPU 'bad_counter'"*"[direct-access]"* ]] ||
  { echo "the build log lacks the diagnostic:"; echo "$log"; exit 1; }
test ! -e "$tmp/bad-module/bad_module.o"
test -f "$tmp/bad-module/plugin.o"   # the clean modules still built
if cmake --build "$tmp/bad-module" >/dev/null 2>&1; then
  echo "the second build of a failing module passed"; exit 1
fi
# A module that fails percpu_check(): the check step fails (Makefiles), its
# SARIF report has the result, and it fails again on the next build.
if configure_and_build bad-check "$src/testdata/consumer_c" "Unix Makefiles" "$cc" c++ \
     "${installed[@]}" -DCONSUMER_BAD_CHECK=ON >/dev/null; then
  echo "percpu_check passed a direct access"; exit 1
fi
log=$(cat "$tmp/bad-check.build.log")
[[ $log == *"per-CPU 'bad_counter'"*"[direct-access]"* ]] ||
  { echo "the build log lacks the diagnostic:"; echo "$log"; exit 1; }
grep -q '"ruleId": "direct-access"' "$tmp/bad-check/bad.sarif"
test ! -e "$tmp/bad-check/check_bad.stamp"
if cmake --build "$tmp/bad-check" >/dev/null 2>&1; then
  echo "the second build of a failing check passed"; exit 1
fi

# pkg-config: a program, a host and a module, by hand.
if [ "$system" = 0 ]; then
  export PKG_CONFIG_PATH
  PKG_CONFIG_PATH=$(ls -d "$prefix"/lib*/pkgconfig | head -1)
fi
# A prefix outside the loader's search path: the programs carry it.
rpath=()
[ "$system" = 1 ] || rpath=(-Wl,-rpath,"$(pkg-config --variable=libdir percpu)")
# shellcheck disable=SC2046
"$cc" -o "$tmp/app-pc" "$src/testdata/consumer/main.c" $(pkg-config --cflags --libs percpu) "${rpath[@]}"
"$tmp/app-pc"
# A fully static program: --static gives libpercpu.a what it needs.
# shellcheck disable=SC2046
"$cc" -static -o "$tmp/app-static" "$src/testdata/consumer/main.c" $(pkg-config --cflags --libs --static percpu)
"$tmp/app-static"
# A shared library and a plugin, linked through `percpu-elfpatch link --shared`.
elfpatch=$(pkg-config --variable=elfpatch percpu-library)
for f in libcounters dlplugin; do
  # shellcheck disable=SC2046
  "$cc" -c $(pkg-config --cflags percpu-library) "$src/testdata/consumer/$f.c" -o "$tmp/$f-pc.o"
done
# shellcheck disable=SC2046
"$elfpatch" link --shared -- "$cc" -shared -o "$tmp/libcounters-pc.so" "$tmp/libcounters-pc.o" \
  $(pkg-config --libs percpu-library) "${rpath[@]}"
# shellcheck disable=SC2046
"$elfpatch" link --shared -- "$cc" -shared -o "$tmp/dlplugin-pc.so" "$tmp/dlplugin-pc.o" \
  $(pkg-config --libs percpu-library) "${rpath[@]}"
# shellcheck disable=SC2046
"$cc" -o "$tmp/libapp-pc" "$src/testdata/consumer/libapp.c" $(pkg-config --cflags --libs percpu) \
  -rdynamic "$tmp/libcounters-pc.so" -ldl -lpthread "${rpath[@]}" -Wl,-rpath,"$tmp"
"$tmp/libapp-pc" "$tmp/dlplugin-pc.so"
# The short form, from the installed package's own files.
"$elfpatch" link --shared -o "$tmp/libcounters-short.so" "$tmp/libcounters-pc.o"
test -f "$tmp/libcounters-short.so"
# shellcheck disable=SC2046
"$cc" -o "$tmp/host-pc" "$src/testdata/consumer/plugin_host.c" $(pkg-config --cflags --libs percpu-loader) "${rpath[@]}"
# shellcheck disable=SC2046
"$cc" -c $(pkg-config --cflags percpu-module) "$src/testdata/consumer/plugin.c" -o "$tmp/plugin-pc.c.o"
"$(pkg-config --variable=elfpatch percpu-module)" link -o "$tmp/plugin-pc.o" "$tmp/plugin-pc.c.o"
"$tmp/host-pc" "$tmp/plugin-pc.o"
"$prefix/bin/percpu-elfpatch" check "$tmp/plugin-pc.o" "$tmp/host-pc"
echo "consumer ok"
