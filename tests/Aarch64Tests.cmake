# The arm64 test set of a cross build (cmake --preset aarch64), included by
# tests/CMakeLists.txt.  Every test binary runs under qemu-user
# (CMAKE_CROSSCOMPILING_EMULATOR, set by cmake/toolchains/aarch64-linux-gnu.cmake).
#
# What emulation cannot run is not in this set, and the README says so:
# QEMU 7.2's linux-user has no rseq (ENOSYS, glibc's __rseq_size is 0), so the
# runtime runs on sched_getcpu() here whatever it is asked; the rseq sequences
# are run by rseq_sim_test against a simulated rseq area instead.  The
# tests that assert rseq itself (migrate.glibc_rseq, pool's fast path) stay
# in the x86-64 set.

# The arm64 tools as commands this machine can run (for the test scripts).
list(JOIN CMAKE_CROSSCOMPILING_EMULATOR " " PERCPU_EMULATOR_LINE)
foreach(tool percpu-elfpatch percpu-load)
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/emulated/${tool}
       CONTENT "#!/bin/sh\nexec ${PERCPU_EMULATOR_LINE} $<TARGET_FILE:${tool}> \"$@\"\n"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                        WORLD_READ WORLD_EXECUTE)
endforeach()
set(PERCPU_EMULATED_ELFPATCH ${PROJECT_BINARY_DIR}/emulated/percpu-elfpatch)
set(PERCPU_EMULATED_LOAD ${PROJECT_BINARY_DIR}/emulated/percpu-load)
# Death tests fork without re-executing (tests/death_test_style.h).
set(PERCPU_QEMU_ENV "PERCPU_DEATH_TEST_STYLE=fast")

# ---- the runtime ---------------------------------------------------------------
percpu_gtest(runtime_test runtime_test.cc percpu_vars.c)
percpu_gtest(alloc_test alloc_test.cc)
percpu_gtest(cow_test cow_test.cc)
percpu_gtest(pool_test pool_test.cc)
percpu_gtest(migrate_test migrate_test.cc)
percpu_gtest(ref_test ref_test.cc)
# The runtime asked for each CPU source: glibc's rseq area (absent under
# qemu), its own area (registration refused: ENOSYS) and sched_getcpu().
percpu_test(runtime COMMAND runtime_test)
percpu_test(runtime.own_rseq ENV GLIBC_TUNABLES=glibc.pthread.rseq=0 COMMAND runtime_test)
percpu_test(runtime.getcpu ENV PERCPU_RSEQ=0 COMMAND runtime_test)
percpu_test(runtime.4096cpus ENV PERCPU_NR_CPUS=4096 COMMAND runtime_test)
# AllocatorProcess.* need a freshly started process each (settings read at
# start-up): under qemu they cannot run, and alloc.fresh_process reports them
# skipped, with the reason.
set(no_fresh AllocatorProcess.*)
percpu_test(alloc COMMAND alloc_test --gtest_filter=-Allocator.GrowsPastTheFirstChunk:${no_fresh})
percpu_test(alloc.4096cpus ENV PERCPU_NR_CPUS=4096
            COMMAND alloc_test --gtest_filter=-Allocator.GrowsPastTheFirstChunk:${no_fresh})
percpu_test(alloc.chunks ENV PERCPU_STRIDE=64K COMMAND alloc_test --gtest_filter=-${no_fresh})
percpu_test(alloc.fresh_process ENV ${PERCPU_QEMU_ENV}
            PROPERTIES SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
            COMMAND alloc_test --gtest_filter=${no_fresh})
percpu_test(cow COMMAND cow_test)
# qemu has no rseq: percpu_ref takes its shared path (the asm is built).
percpu_test(ref COMMAND ref_test)
percpu_test(cow.copy ENV PERCPU_COW=0 PERCPU_NR_CPUS=64 COMMAND cow_test)
percpu_test(pool.getcpu ENV ${PERCPU_QEMU_ENV} PERCPU_EXPECT_FAST=0 PERCPU_RSEQ=0 COMMAND pool_test)
percpu_test(migrate.getcpu_atomic ENV PERCPU_EXPECT_SOURCE=getcpu PERCPU_RSEQ=0 COMMAND migrate_test)

# The kernel's per-CPU API as kernel code uses it, built by gcc and g++.
find_package(Threads REQUIRED)
set(PERCPU_KAPI_DIR ${PROJECT_SOURCE_DIR}/testdata/kernel)
add_executable(kapi_gcc ${PERCPU_KAPI_DIR}/kapi.c ${PERCPU_KAPI_DIR}/kapi_main.c)
add_executable(kapi_gxx ${PERCPU_KAPI_DIR}/kapi_cxx.cpp ${PERCPU_KAPI_DIR}/kapi_main.c)
foreach(kind gcc gxx)
  target_link_libraries(kapi_${kind} PRIVATE percpu::runtime Threads::Threads)
  percpu_add_host(kapi_${kind})
  percpu_test(kapi.${kind}.getcpu ENV PERCPU_RSEQ=0
              PROPERTIES PASS_REGULAR_EXPRESSION "kapi ok" FAIL_REGULAR_EXPRESSION "check failed"
              COMMAND kapi_${kind})
endforeach()

# Every this_cpu_* rseq sequence on a simulated rseq area, and the abort path
# forced from a signal handler (what the kernel does on preemption).
percpu_gtest(rseq_sim_test rseq_sim_test.cc rseq_sim_library.cc)
set_source_files_properties(rseq_sim_library.cc PROPERTIES COMPILE_DEFINITIONS PERCPU_SHARED_OBJECT)
percpu_test(rseq.simulated ENV PERCPU_NR_CPUS=8 COMMAND rseq_sim_test)

# ---- the loader ---------------------------------------------------------------
# Fixtures for arm64 by gcc (the cross compiler) and clang, -O0/-O2,
# -fPIC/-fPIE, each loaded near and with every block far.
set(PERCPU_AARCH64_CLANG_FLAGS --target=${PERCPU_TARGET_TRIPLE})
percpu_gtest(loader_test loader_test.cc)
target_link_libraries(loader_test PRIVATE percpu_loader)
foreach(compiler gcc clang)
  if(compiler STREQUAL "gcc")
    set(cc ${CMAKE_C_COMPILER})
    set(cxx ${CMAKE_CXX_COMPILER})
    set(cflags)
  else()
    set(cc ${PERCPU_CLANG})
    set(cxx ${PERCPU_CLANGXX})
    set(cflags ${PERCPU_AARCH64_CLANG_FLAGS})
  endif()
  foreach(opt O0 O2)
    foreach(pic fPIC fPIE)
      set(variant ${compiler}_${opt}_${pic})
      percpu_module_fixtures(${variant} ${cc} ${cxx} ${cflags} -${opt} -${pic})
      percpu_loader_tests(${variant})
      # The guard on from start-up: the death test's forked child has it.
      set_property(TEST loader.${variant} loader.${variant}.far APPEND PROPERTY
                   ENVIRONMENT "${PERCPU_QEMU_ENV};PERCPU_GUARD=1")
    endforeach()
  endforeach()
endforeach()

# Every relocation kind of the arm64 engine (testdata/modules/aarch64_relocs.s),
# loaded and run.
set(aarch64_relocs ${CMAKE_CURRENT_BINARY_DIR}/fixtures/aarch64_relocs.o)
add_custom_command(OUTPUT ${aarch64_relocs}
  COMMAND ${LLVM_TOOLS_BINARY_DIR}/llvm-mc -filetype=obj -triple=${PERCPU_TARGET_TRIPLE}
          ${PROJECT_SOURCE_DIR}/testdata/modules/aarch64_relocs.s -o ${aarch64_relocs}
  DEPENDS ${PROJECT_SOURCE_DIR}/testdata/modules/aarch64_relocs.s
  COMMENT "fixture aarch64_relocs.o" VERBATIM)
add_custom_target(fixtures_aarch64_relocs ALL DEPENDS ${aarch64_relocs})

add_test(NAME loader.aarch64_relocs COMMAND percpu-load ${aarch64_relocs})

# Every AArch64 thread-local model, hand-written (testdata/modules/aarch64_tls_models.s),
# assembled by GNU as (llvm-mc lacks the traditional :tlsgd: forms).
set(tls_models ${CMAKE_CURRENT_BINARY_DIR}/fixtures/aarch64_tls_models.o)
add_custom_command(OUTPUT ${tls_models}
  COMMAND ${CMAKE_C_COMPILER} -c ${PROJECT_SOURCE_DIR}/testdata/modules/aarch64_tls_models.s -o ${tls_models}
  DEPENDS ${PROJECT_SOURCE_DIR}/testdata/modules/aarch64_tls_models.s
  COMMENT "fixture aarch64_tls_models.o" VERBATIM)
add_custom_target(fixtures_tls_models ALL DEPENDS ${tls_models})
percpu_gtest(tls_models_test tls_models_test.cc)
target_link_libraries(tls_models_test PRIVATE percpu_loader)
add_test(NAME loader.tls_models COMMAND tls_models_test)
set_tests_properties(loader.tls_models PROPERTIES ENVIRONMENT "PERCPU_TLS_MODELS=${tls_models}")

# Two modules together under percpu-load, one with an IFUNC and module_init.
foreach(variant gcc_O2_fPIE clang_O0_fPIC)
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/fixtures/${variant})
  add_test(NAME loader.percpu_load.${variant}
           COMMAND percpu-load --call counters_check_init --call ifunc_check
                   ${dir}/counters.o ${dir}/ifunc.o)
endforeach()

# The relocation engine against ld.lld, run by the arm64 build.
percpu_gtest(differential_test differential_test.cc)
target_link_libraries(differential_test PRIVATE percpu_loader percpu_elfpatch)
target_include_directories(differential_test PRIVATE ${PROJECT_SOURCE_DIR}/src/loader)
foreach(variant gcc_O0_fPIC clang_O2_fPIE)
  add_test(NAME loader.differential.${variant} COMMAND differential_test)
  set_tests_properties(loader.differential.${variant} PROPERTIES ENVIRONMENT
    "PERCPU_FIXTURES=${CMAKE_CURRENT_BINARY_DIR}/fixtures/${variant};PERCPU_LLD=${LLVM_TOOLS_BINARY_DIR}/ld.lld")
endforeach()

# Real third-party code: zlib and zstd from Debian's arm64 static libraries
# (the sysroot) as modules, against the same libraries' shared builds.
find_package(ZLIB REQUIRED)
find_library(PERCPU_LIBZSTD_A NAMES libzstd.a REQUIRED)
find_library(PERCPU_LIBZSTD NAMES zstd REQUIRED)
set(PERCPU_ZLIB_MODULE ${CMAKE_CURRENT_BINARY_DIR}/fixtures/zlib_module.o)
set(PERCPU_ZSTD_MODULE ${CMAKE_CURRENT_BINARY_DIR}/fixtures/zstd_module.o)
percpu_zlib_module(fixtures_zlib ${PERCPU_ZLIB_MODULE})
percpu_archive_module(fixtures_zstd ${PERCPU_ZSTD_MODULE} ARCHIVES ${PERCPU_LIBZSTD_A})
percpu_gtest(thirdparty_test thirdparty_test.cc)
target_link_libraries(thirdparty_test PRIVATE percpu_loader ZLIB::ZLIB ${PERCPU_LIBZSTD} ${CMAKE_DL_LIBS})
add_test(NAME loader.zlib COMMAND thirdparty_test --gtest_filter=Zlib.*)
add_test(NAME loader.zstd COMMAND thirdparty_test --gtest_filter=Zstd.*)
set_tests_properties(loader.zlib loader.zstd PROPERTIES
  ENVIRONMENT "PERCPU_ZLIB_MODULE=${PERCPU_ZLIB_MODULE};PERCPU_ZSTD_MODULE=${PERCPU_ZSTD_MODULE}")

# Per-CPU variables in shared objects: libraries, a plugin and the program
# built by the cross gcc and by clang, linked through the arm64 tool.
percpu_test(shared.cross PROPERTIES PASS_REGULAR_EXPRESSION "shared cross ok"
            COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/shared_cross.sh ${PERCPU_EMULATED_ELFPATCH}
                    $<TARGET_FILE_DIR:percpu_runtime> ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER}
                    ${PERCPU_CLANG} ${CMAKE_CROSSCOMPILING_EMULATOR})

# ---- percpu-elfpatch ---------------------------------------------------------------
# The golden tests, run by the arm64 binary.
percpu_golden_tests(${PERCPU_EMULATED_ELFPATCH})

# The arm64 percpu-elfpatch answers as the build machine's does (check and
# layout JSON, patched objects byte for byte) on the arm64 fixtures, x86-64
# objects and kernel-style modules of both.  The native tool is the default
# preset's build (make test builds it first); without it the test is skipped.
set(PERCPU_NATIVE_ELFPATCH ${PROJECT_SOURCE_DIR}/build/default/src/elfpatch/percpu-elfpatch
    CACHE FILEPATH "The build machine's percpu-elfpatch, for the cross-build comparison")
set(cross_inputs)
foreach(variant gcc_O2_fPIE clang_O0_fPIC)
  foreach(m counters user kapi_module array_export legacy_module cxx_module tls_module kind_mismatch)
    list(APPEND cross_inputs ${CMAKE_CURRENT_BINARY_DIR}/fixtures/${variant}/${m}.o)
  endforeach()
endforeach()
add_test(NAME elfpatch.cross_same
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cross_elfpatch_same.sh ${PERCPU_EMULATED_ELFPATCH}
                 ${PERCPU_NATIVE_ELFPATCH} ${PERCPU_CLANG} ${PROJECT_SOURCE_DIR}
                 ${cross_inputs} ${aarch64_relocs} ${PERCPU_ZLIB_MODULE})
set_tests_properties(elfpatch.cross_same PROPERTIES PASS_REGULAR_EXPRESSION "cross elfpatch same ok"
  SKIP_RETURN_CODE 77)
