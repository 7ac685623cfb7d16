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
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${PERCPU_LINKER_SCRIPT}")
endfunction()
