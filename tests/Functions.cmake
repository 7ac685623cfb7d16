# What both test sets (this machine's, tests/CMakeLists.txt, and a cross
# build's, tests/Aarch64Tests.cmake) build their tests with.

# percpu_test(<name> [ENV <VAR=value>...] [PROPERTIES <property> <value>...]
#             COMMAND <command>...): add_test with its environment and other
# properties in one call, so that a variant of a test (the same binary on
# another CPU source, CPU count or stride) is one line.  Test names follow
# <part>.<what>[.<variant>]: runtime.4096cpus, kapi.gcc.own_rseq,
# loader.gcc_O2_fPIE.far.
function(percpu_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ENV;PROPERTIES;COMMAND")
  if(NOT arg_COMMAND)
    message(FATAL_ERROR "percpu_test(${name}): no COMMAND")
  endif()
  add_test(NAME ${name} COMMAND ${arg_COMMAND})
  if(arg_ENV)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${arg_ENV}")
  endif()
  if(arg_PROPERTIES)
    set_tests_properties(${name} PROPERTIES ${arg_PROPERTIES})
  endif()
endfunction()

# A GoogleTest binary linked as a per-CPU host.
function(percpu_gtest name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE percpu::runtime GTest::gtest_main)
  percpu_add_host(${name})
endfunction()

# Fixture modules (testdata/modules) compiled per variant: compiler x flags.
set(PERCPU_MODULE_SOURCES counters.c user.c cxx_module.cc tls_module.c tls_process.c tls_cxx.cc tls_global_lib.c tls_global_user.c kind_mismatch.c kind_plain_ref.c
    kapi_module.c percpu_test_mod.c array_export.c array_user.c legacy_module.c legacy_user.c
    legacy_host_ref.c global_lib.c global_user.c
    failing_init.c small.c diff.c ifunc.c atexit_module.c ctors.c)
file(GLOB PERCPU_PUBLIC_HEADERS CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/src/runtime/include/percpu/*.h
     ${PROJECT_SOURCE_DIR}/arch/*/include/percpu/arch/*.h)
set(PERCPU_CLANG ${LLVM_TOOLS_BINARY_DIR}/clang)
set(PERCPU_CLANGXX ${LLVM_TOOLS_BINARY_DIR}/clang++)
function(percpu_module_fixtures variant cc cxx)
  set(flags ${ARGN})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/fixtures/${variant})
  set(outputs)
  foreach(src IN LISTS PERCPU_MODULE_SOURCES)
    get_filename_component(base ${src} NAME_WE)
    get_filename_component(ext ${src} EXT)
    set(compiler ${cc})
    set(lang -std=c11)
    if(ext STREQUAL ".cc")
      set(compiler ${cxx})
      set(lang -std=c++20)
    endif()
    add_custom_command(OUTPUT ${dir}/${base}.o
      COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
      COMMAND ${compiler} ${lang} ${flags} -fcommon -g ${PERCPU_RUNTIME_INCLUDE_FLAGS}
              -c ${PROJECT_SOURCE_DIR}/testdata/modules/${src} -o ${dir}/${base}.o
      DEPENDS ${PROJECT_SOURCE_DIR}/testdata/modules/${src} ${PERCPU_PUBLIC_HEADERS}
              ${PROJECT_SOURCE_DIR}/testdata/kernel/kapi.c
      COMMENT "fixture ${variant}/${base}.o" VERBATIM)
    list(APPEND outputs ${dir}/${base}.o)
  endforeach()
  add_custom_command(OUTPUT ${dir}/garbage.o
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${CMAKE_COMMAND} -E echo "this is not an object" > ${dir}/garbage.o VERBATIM)
  list(APPEND outputs ${dir}/garbage.o)
  add_custom_target(fixtures_${variant} ALL DEPENDS ${outputs})
endfunction()

# loader_test over a fixture variant, near and with every block far.
function(percpu_loader_tests variant)
  set(fixtures "PERCPU_FIXTURES=${CMAKE_CURRENT_BINARY_DIR}/fixtures/${variant}")
  add_test(NAME loader.${variant} COMMAND loader_test)
  set_tests_properties(loader.${variant} PROPERTIES ENVIRONMENT "${fixtures}")
  add_test(NAME loader.${variant}.far COMMAND loader_test)
  set_tests_properties(loader.${variant}.far PROPERTIES ENVIRONMENT "${fixtures};PERCPU_FORCE_FAR=1")
endfunction()

# The golden tests of percpu-elfpatch (testdata/elfpatch/{golden,malformed}:
# each file carries its inputs, the command and the expected output), run
# by `tool`: the tool's path, or a command that runs it.
function(percpu_golden_tests tool)
  file(GLOB PERCPU_GOLDEN CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/testdata/elfpatch/golden/*.s
       ${PROJECT_SOURCE_DIR}/testdata/elfpatch/golden/*.yaml
       ${PROJECT_SOURCE_DIR}/testdata/elfpatch/malformed/*.yaml
       ${PROJECT_SOURCE_DIR}/testdata/elfpatch/malformed/*.s)
  foreach(golden IN LISTS PERCPU_GOLDEN)
    get_filename_component(gname ${golden} NAME_WE)
    get_filename_component(gdir ${golden} DIRECTORY)
    get_filename_component(gkind ${gdir} NAME)
    add_test(NAME elfpatch.${gkind}.${gname}
             COMMAND ${PROJECT_SOURCE_DIR}/tests/elfpatch/golden.sh ${tool}
                     ${LLVM_TOOLS_BINARY_DIR} ${PERCPU_LINKER_SCRIPT} ${golden})
    set_tests_properties(elfpatch.${gkind}.${gname} PROPERTIES PASS_REGULAR_EXPRESSION "golden ok")
  endforeach()
endfunction()
