# percpu_add_host(<target>)
#
# Links an executable with the percpu.ld fragment, which gathers its per-CPU
# sections between __per_cpu_start and __per_cpu_end (required by libpercpu).
# Works with GNU ld and ld.lld, PIE or not.  PERCPU_LINKER_SCRIPT names the
# fragment; the package sets it.
function(percpu_add_host target)
  if(NOT PERCPU_LINKER_SCRIPT)
    message(FATAL_ERROR "percpu_add_host: PERCPU_LINKER_SCRIPT is not set")
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "EXECUTABLE")
    message(FATAL_ERROR "percpu_add_host(${target}): per-CPU hosts are executables, "
                        "'${target}' is a ${type}")
  endif()
  target_link_options(${target} PRIVATE "LINKER:-T,${PERCPU_LINKER_SCRIPT}")
  # The program's start-up object (its block and export table, handed to the
  # runtime before any constructor); libpercpu.a has it too.
  target_link_libraries(${target} PRIVATE percpu::program)
  # Its symbols in the dynamic symbol table: a plugin (dlopen) reaches the
  # program's per-CPU variables through ordinary dynamic linking.
  set_property(TARGET ${target} PROPERTY ENABLE_EXPORTS ON)
  # A per-CPU variable of a shared library must be reached through the GOT:
  # GCC's default for -fPIE and non-PIE code names it directly, and the
  # linker then copies the variable into the program (a copy relocation),
  # one copy for every CPU; the runtime refuses such a program.  Clang's
  # -fPIE already uses the GOT.
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    foreach(lang C CXX)
      target_compile_options(${target} PRIVATE
        "$<$<AND:$<COMPILE_LANG_AND_ID:${lang},GNU>,$<VERSION_GREATER_EQUAL:$<${lang}_COMPILER_VERSION>,12>>:-mno-direct-extern-access>"
        "$<$<COMPILE_LANG_AND_ID:${lang},Clang>:-fno-direct-access-external-data>")
    endforeach()
  endif()
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${PERCPU_LINKER_SCRIPT}")
endfunction()
