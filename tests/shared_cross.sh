#!/usr/bin/env bash
# Per-CPU variables in shared objects on arm64 (run by the cross build under
# qemu-user): liba and libb (DT_NEEDED, each using the other's counter), a
# dlopen() plugin using liba's and the program's, and the program, compiled
# by the cross gcc and by clang, linked through `percpu-elfpatch link
# --shared` (the arm64 tool, emulated), with -z now and lazy binding.
#   shared_cross.sh ELFPATCH RUNTIME_DIR SOURCE_DIR CROSS_CC CLANG EMULATOR...
set -euo pipefail
tool=$1 rt=$2 src=$3 gcc=$4 clang=$5
shift 5
emulator=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include")
d=$src/testdata/shared
lib=(-Wl,-T,"$src/src/runtime/percpu-shared.ld" -Wl,-u,pcpu__library_start "$rt/libpercpu-library.a"
     "$rt/libpercpu.so" -Wl,-rpath,"$rt")
runs=0
for cc in "$gcc" "$clang --target=aarch64-linux-gnu -fuse-ld=lld -Wno-unused-command-line-argument"; do
  for z in "-Wl,-z,now" "-Wl,-z,lazy"; do
    o=$tmp/$runs
    mkdir -p "$o"
    # shellcheck disable=SC2086
    {
      for f in liba libb plugin; do $cc "${inc[@]}" -O2 -fPIC -c "$d/$f.c" -o "$o/$f.o"; done
      "$tool" link --shared -- $cc $z -shared -o "$o/libb.so" "$o/libb.o" "${lib[@]}"
      "$tool" link --shared -- $cc $z -shared -o "$o/liba.so" "$o/liba.o" "$o/libb.so" "${lib[@]}" \
        -Wl,-rpath,"$o"
      "$tool" link --shared -- $cc $z -shared -o "$o/plugin.so" "$o/plugin.o" "$o/liba.so" "${lib[@]}" \
        -Wl,-rpath,"$o"
      $cc "${inc[@]}" -O2 -c "$d/matrix_host.c" -o "$o/host.o"
      $cc $z -rdynamic -o "$o/host" "$o/host.o" -Wl,-T,"$src/src/runtime/percpu.ld" \
        -Wl,-u,pcpu__program_image "$rt/libpercpu-program.a" "$o/liba.so" "$o/libb.so" "$rt/libpercpu.so" \
        -ldl -lpthread -Wl,-rpath,"$rt" -Wl,-rpath,"$o"
    } || { echo "build failed: $cc $z"; exit 1; }
    out=$("${emulator[@]}" "$o/host" "$o/plugin.so" 2>&1) || true
    [ "$out" = "matrix ok" ] || { echo "$cc $z: $out"; exit 1; }
    "$tool" check "$o/liba.so" "$o/libb.so" "$o/plugin.so" || { echo "check refused $cc $z"; exit 1; }
    runs=$((runs + 1))
  done
done
echo "shared cross ok ($runs builds)"
