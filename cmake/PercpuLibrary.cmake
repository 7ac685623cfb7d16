# percpu_add_library(<target>)
#
# Makes a SHARED or MODULE library target a shared object with per-CPU
# variables: DEFINE_PER_CPU, EXPORT_PER_CPU_SYMBOL and the this_cpu_*,
# per_cpu() and per_cpu_ptr() accesses compile unchanged, and each CPU gets
# its own copy.  What it does to the target:
#  - links it with the percpu-shared.ld fragment (the object's per-CPU
#    sections in one block, between its own hidden __per_cpu_start/end), the
#    start-up object (libpercpu-library.a: gives the block its place in the
#    per-CPU space when the object is loaded, and back when it is unloaded)
#    and the shared runtime (percpu::runtime, libpercpu.so.0);
#  - links through `percpu-elfpatch link --shared --`, which patches each of
#    its objects with `patch --indirect` on the way (PC-relative per-CPU
#    address computations become loads of relocated slots);
#  - compiles it as position-independent code, with PERCPU_SHARED_OBJECT
#    defined (its fast paths read the object's own bounded unit table).
# Requires CMake 3.21 (<LANG>_LINKER_LAUNCHER) and the Makefile or Ninja
# generators, and PercpuModule.cmake (the tool's path).
# PERCPU_SHARED_LINKER_SCRIPT names the fragment; the package sets it.
set(_PERCPU_LIBRARY_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(percpu_add_library target)
  if(NOT PERCPU_SHARED_LINKER_SCRIPT)
    message(FATAL_ERROR "percpu_add_library: PERCPU_SHARED_LINKER_SCRIPT is not set")
  endif()
  if(CMAKE_VERSION VERSION_LESS 3.21)
    message(FATAL_ERROR "percpu_add_library(${target}) needs CMake 3.21 or later "
                        "(<LANG>_LINKER_LAUNCHER); this is ${CMAKE_VERSION}")
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type MATCHES "^(SHARED_LIBRARY|MODULE_LIBRARY)$")
    message(FATAL_ERROR "percpu_add_library(${target}): expected a SHARED or MODULE library, "
                        "'${target}' is a ${type} (programs: percpu_add_host; "
                        "relocatable modules: percpu_add_module)")
  endif()
  _percpu_tools_file(tools)
  set_property(TARGET ${target} PROPERTY POSITION_INDEPENDENT_CODE ON)
  # The fast paths read the object's own bounded copy of the unit table
  # (<percpu/percpu.h>, PCPU_LIBRARY_UNIT_ENTRIES).
  target_compile_definitions(${target} PRIVATE PERCPU_SHARED_OBJECT)
  target_link_options(${target} PRIVATE "LINKER:-T,${PERCPU_SHARED_LINKER_SCRIPT}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${PERCPU_SHARED_LINKER_SCRIPT}")
  target_link_libraries(${target} PRIVATE percpu::library_start percpu::runtime)
  set(launcher "${CMAKE_COMMAND}" "-DPERCPU_TOOLS=${tools}"
               -P "${_PERCPU_LIBRARY_DIR}/PercpuLibraryLink.cmake" --)
  set_target_properties(${target} PROPERTIES C_LINKER_LAUNCHER "${launcher}"
                                             CXX_LINKER_LAUNCHER "${launcher}")
  if(TARGET percpu-elfpatch)
    # In percpu's own build tree: a changed patcher relinks the object.
    add_dependencies(${target} percpu-elfpatch)
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "$<TARGET_FILE:percpu-elfpatch>")
  endif()
endfunction()
