# Cross-compiling percpu for arm64 Linux on an x86-64 Debian 12 machine:
# Debian's aarch64-linux-gnu-gcc/g++ with the cross C library in
# /usr/aarch64-linux-gnu, clang --target=aarch64-linux-gnu for the clang-built
# test fixtures, the arm64 libraries (LLVM, GoogleTest, CLI11, zlib, zstd)
# from a sysroot that scripts/aarch64-sysroot.sh unpacks into the build tree
# (PERCPU_SYSROOT), and every test binary run by qemu-user.
#   cmake --preset aarch64       (CMakePresets.json sets this file)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(PERCPU_TARGET_TRIPLE aarch64-linux-gnu)
set(PERCPU_CROSS_LIBC /usr/aarch64-linux-gnu)

find_program(PERCPU_CROSS_CC aarch64-linux-gnu-gcc)
find_program(PERCPU_CROSS_CXX aarch64-linux-gnu-g++)
find_program(PERCPU_QEMU qemu-aarch64-static)
foreach(tool PERCPU_CROSS_CC PERCPU_CROSS_CXX PERCPU_QEMU)
  if(NOT ${tool})
    message(FATAL_ERROR "${tool} not found: the aarch64 build needs Debian's g++-aarch64-linux-gnu "
                        "and qemu-user-static (scripts/install-deps.sh installs them)")
  endif()
endforeach()
set(CMAKE_C_COMPILER ${PERCPU_CROSS_CC})
set(CMAKE_CXX_COMPILER ${PERCPU_CROSS_CXX})

# The sysroot of arm64 libraries: by default beside the build tree's cache.
if(NOT PERCPU_SYSROOT)
  set(PERCPU_SYSROOT ${CMAKE_BINARY_DIR}/sysroot)
endif()
set(PERCPU_SYSROOT ${PERCPU_SYSROOT} CACHE PATH "arm64 libraries (scripts/aarch64-sysroot.sh)")
set(PERCPU_SYSROOT_LIBDIR ${PERCPU_SYSROOT}/usr/lib/${PERCPU_TARGET_TRIPLE})

set(CMAKE_FIND_ROOT_PATH ${PERCPU_SYSROOT} ${PERCPU_CROSS_LIBC})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# libLLVM's own dependencies (libxml2, libz3...) are in the sysroot too.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${PERCPU_SYSROOT_LIBDIR}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${PERCPU_SYSROOT_LIBDIR}")

# Every test binary runs under qemu-user (binfmt_misc is not assumed): the
# cross C library as its root for the dynamic loader, the sysroot's libraries
# on the library path.
set(CMAKE_CROSSCOMPILING_EMULATOR
    ${PERCPU_QEMU} -L ${PERCPU_CROSS_LIBC} -E LD_LIBRARY_PATH=${PERCPU_SYSROOT_LIBDIR})
