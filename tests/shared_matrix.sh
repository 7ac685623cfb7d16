#!/usr/bin/env bash
# Per-CPU variables in shared objects across toolchains: liba and libb
# (DT_NEEDED, each using the other's counter), a dlopen() plugin using
# liba's and the program's, and the program, built with gcc and clang,
# linked with GNU ld and ld.lld, -z now and lazy binding, with and without
# -z relro, with relative relocations packed (RELR) and not, by hand as a
# user without CMake would (percpu-elfpatch link --shared), the program
# compiled the way percpu_add_host() compiles it.
#   shared_matrix.sh ELFPATCH RUNTIME_DIR SOURCE_DIR CC CLANG
set -euo pipefail
tool=$1 rt=$2 src=$3 gcc=$4 clang=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=(-I"$src/src/runtime/include" -I"$src/arch/x86_64/include" -I"$src/arch/aarch64/include")
d=$src/testdata/shared
lib=(-Wl,-T,"$src/src/runtime/percpu-shared.ld" -Wl,-u,pcpu__library_start "$rt/libpercpu-library.a"
     "$rt/libpercpu.so" -Wl,-rpath,"$rt")
runs=0
for cc in "$gcc" "$clang"; do
  for ld in bfd lld; do
    # (the last: relative relocations packed as RELR, glibc 2.36's DT_RELR)
    for z in "-Wl,-z,now -Wl,-z,relro" "-Wl,-z,lazy -Wl,-z,relro" "-Wl,-z,lazy -Wl,-z,norelro" \
             "-Wl,-z,now -Wl,-z,relro -Wl,-z,pack-relative-relocs"; do
      o=$tmp/$(basename "$cc")-$ld-$runs
      mkdir -p "$o"
      # shellcheck disable=SC2086
      {
        for f in liba libb plugin; do "$cc" "${inc[@]}" -O2 -fPIC -c "$d/$f.c" -o "$o/$f.o"; done
        "$tool" link --shared -- "$cc" -fuse-ld=$ld $z -shared -o "$o/libb.so" "$o/libb.o" "${lib[@]}"
        "$tool" link --shared -- "$cc" -fuse-ld=$ld $z -shared -o "$o/liba.so" "$o/liba.o" "$o/libb.so" \
          "${lib[@]}" -Wl,-rpath,"$o"
        "$tool" link --shared -- "$cc" -fuse-ld=$ld $z -shared -o "$o/plugin.so" "$o/plugin.o" "$o/liba.so" \
          "${lib[@]}" -Wl,-rpath,"$o"
        "$cc" "${inc[@]}" -O2 -c "$d/matrix_host.c" -o "$o/host.o"
        "$cc" -fuse-ld=$ld $z -rdynamic -o "$o/host" "$o/host.o" -Wl,-T,"$src/src/runtime/percpu.ld" \
          -Wl,-u,pcpu__program_image "$rt/libpercpu-program.a" "$o/liba.so" "$o/libb.so" "$rt/libpercpu.so" \
          -ldl -lpthread -Wl,-rpath,"$rt" -Wl,-rpath,"$o"
      } || { echo "build failed: $cc $ld $z"; exit 1; }
      out=$("$o/host" "$o/plugin.so" 2>&1) || true
      [ "$out" = "matrix ok" ] || { echo "$cc $ld $z: $out"; exit 1; }
      [ -n "${first:-}" ] || first=$o
      runs=$((runs + 1))
    done
  done
done
# gcc's -fPIE and non-PIE code copies a library's variable into the program
# (a copy relocation; clang's -fPIE reaches it through the GOT): the copy is
# the variable's canonical address.  A non-PIE program here; the PIE ones
# ran above.
o=$tmp/copy
mkdir -p "$o"
"$gcc" "${inc[@]}" -O2 -fno-pie -c "$d/matrix_host.c" -o "$o/host.o"
"$gcc" -no-pie -rdynamic -o "$o/host" "$o/host.o" -Wl,-T,"$src/src/runtime/percpu.ld" -Wl,-u,pcpu__program_image \
  "$rt/libpercpu-program.a" "$first/liba.so" "$first/libb.so" "$rt/libpercpu.so" -ldl -lpthread \
  -Wl,-rpath,"$rt" -Wl,-rpath,"$first"
readelf -rW "$o/host" | grep -q 'R_X86_64_COPY.* a_count' || { echo "no copy relocation of a_count"; exit 1; }
out=$("$o/host" "$first/plugin.so" 2>&1) || true
[ "$out" = "matrix ok" ] || { echo "non-PIE program copying a_count: $out"; exit 1; }
# Without a program block (no percpu.ld), the copy is out of the per-CPU
# space's reach: refused, with the variable and the library named.
"$gcc" -rdynamic -o "$o/bare" "$o/host.o" -no-pie "$first/liba.so" "$first/libb.so" "$rt/libpercpu.so" \
  -ldl -lpthread -Wl,-rpath,"$rt" -Wl,-rpath,"$first"
if out=$("$o/bare" "$first/plugin.so" 2>&1); then
  echo "a program that copies a per-CPU variable out of reach ran: $out"; exit 1
fi
[[ $out == *"copies the per-CPU variable '"?"_count' of "*"(a copy relocation), out of the per-CPU space's reach"* ]] ||
  { echo "unexpected refusal: $out"; exit 1; }

# A library made of an object and a static archive: the archive's members
# are patched too (their per-CPU address computations reach the block).
o=$tmp/archive
mkdir -p "$o"
"$gcc" "${inc[@]}" -O2 -fPIC -c "$d/archived.c" -o "$o/archived.o"
ar rcs "$o/libarchived_parts.a" "$o/archived.o"
printf 'long archived_work(int);\nlong entry(int n) { return archived_work(n); }\n' > "$o/entry.c"
"$gcc" -O2 -fPIC -c "$o/entry.c" -o "$o/entry.o"
# (the object and the archive in a response file, as Ninja passes long lines)
printf '"%s" "%s"\n' "$o/entry.o" "$o/libarchived_parts.a" > "$o/objects.rsp"
"$tool" link --shared -- "$gcc" -shared -o "$o/libarchived.so" "@$o/objects.rsp" \
  "${lib[@]}" -Wl,-u,archived_address
"$gcc" "${inc[@]}" -O2 -o "$o/host" "$d/archive_host.c" \
  -Wl,-T,"$src/src/runtime/percpu.ld" -Wl,-u,pcpu__program_image "$rt/libpercpu-program.a" \
  "$o/libarchived.so" "$rt/libpercpu.so" -Wl,-rpath,"$rt" -Wl,-rpath,"$o"
out=$("$o/host" 2>&1) || true
[ "$out" = "archive ok" ] || { echo "archive member: $out"; exit 1; }

# check: the libraries built this way pass; liba linked plainly (its
# per-CPU variables merged into .data, one copy for all CPUs) is reported.
"$tool" check "$first/liba.so" "$first/libb.so" "$first/plugin.so" ||
  { echo "check refused a per-CPU shared object"; exit 1; }
"$gcc" -shared -o "$o/liba-plain.so" "$first/liba.o"
rc=0
out=$("$tool" check "$o/liba-plain.so" 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ $out == *"liba-plain.so: error: shared object has "*"[shared-object]"* ]] ||
  { echo "check on a plainly linked per-CPU library (exit $rc): $out"; exit 1; }
echo "shared matrix ok ($runs builds)"
