# Plugin modules and the per-CPU check as build steps.
#
# percpu_add_module(<name> [SOURCES] <src>... [LINK_OBJECTS <obj>...]
#                   [CHECK] [INDIRECT] [FUNCTION_SECTIONS])
#
#   Builds <name>.o, a relocatable module that pcpu_dlopen() and percpu-load
#   load: the sources are compiled -fPIC with the package's headers
#   (percpu::module), and the objects, with LINK_OBJECTS (object files,
#   $<TARGET_OBJECTS:...>) and any static library linked to the target, are
#   combined by `percpu-elfpatch link` (ld.lld -r, then patch).  <name> is an
#   ordinary target (a CMake MODULE library named <name>.o): $<TARGET_FILE:<name>>
#   is the module, add_dependencies(), target_compile_options(),
#   target_link_libraries() and install(TARGETS <name> LIBRARY ...) work on it.
#     CHECK              run `percpu-elfpatch check` on the module as part of
#                        its link: an error fails the link and leaves no module
#     INDIRECT           per-CPU references through 8-byte slots (`link
#                        --indirect`): the block may be placed anywhere
#     FUNCTION_SECTIONS  compile with -ffunction-sections -fdata-sections
#   Libraries named with -l (libc, libstdc++, libm...) are not linked in: a
#   module resolves them against the process that loads it.  Linking libpercpu
#   itself (percpu::runtime, percpu::loader) into a module is refused.
#
# percpu_check([TARGETS] <target>... [FILES <file>...] [NAME <name>]
#              [BASELINE <layout.json>] [MAX_BLOCK <n>] [MAX_GROWTH <n|n%>]
#              [FORMAT text|json|sarif] [OUTPUT <file>] [DISABLE <rule>...]
#              [ABI auto|user|kernel])
#
#   Adds a target (<name>, default percpu_check_<first target>, built by
#   `all`) that runs `percpu-elfpatch check` over the targets' files (modules
#   and hosts) once they are built, all together.  An error fails the build
#   and is printed in the build log; warnings and notes do not.  With FORMAT
#   json or sarif the report goes to OUTPUT (default <name>.<format> in the
#   current binary directory) and the log still shows the diagnostics as text;
#   the report is written even when the check fails, for code scanning.
#   The check reruns until it passes.
include_guard(GLOBAL)

if(CMAKE_VERSION VERSION_LESS 3.21)
  message(FATAL_ERROR "percpu_add_module needs CMake 3.21 or later (<LANG>_LINKER_LAUNCHER)")
endif()

set(_PERCPU_MODULE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# The tool's path is known only at generate time (a build tree's target, an
# installed imported one); the link script reads it from this file.
function(_percpu_tools_file out)
  get_property(file GLOBAL PROPERTY _PERCPU_TOOLS_FILE)
  if(NOT file)
    if(NOT TARGET percpu::percpu-elfpatch)
      message(FATAL_ERROR "percpu: the percpu::percpu-elfpatch target is missing "
                          "(find_package(percpu) or add_subdirectory(percpu) first)")
    endif()
    set(file "${CMAKE_BINARY_DIR}/percpu-module/tools.cmake")
    file(GENERATE OUTPUT "${file}"
         CONTENT "set(PERCPU_ELFPATCH \"$<TARGET_FILE:percpu::percpu-elfpatch>\")\n")
    set_property(GLOBAL PROPERTY _PERCPU_TOOLS_FILE "${file}")
  endif()
  set(${out} "${file}" PARENT_SCOPE)
endfunction()

function(percpu_add_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "CHECK;INDIRECT;FUNCTION_SECTIONS" "" "SOURCES;LINK_OBJECTS")
  set(sources ${arg_SOURCES} ${arg_UNPARSED_ARGUMENTS})
  if(NOT sources AND NOT arg_LINK_OBJECTS)
    message(FATAL_ERROR "percpu_add_module(${name}): no SOURCES and no LINK_OBJECTS")
  endif()
  _percpu_tools_file(tools)
  add_library(${name} MODULE ${sources} ${arg_LINK_OBJECTS})
  target_link_libraries(${name} PRIVATE percpu::module)
  if(arg_FUNCTION_SECTIONS)
    target_compile_options(${name} PRIVATE -ffunction-sections -fdata-sections)
  endif()
  set(launcher "${CMAKE_COMMAND}" "-DPERCPU_TOOLS=${tools}" "-DPERCPU_MODULE=${name}")
  if(arg_INDIRECT)
    list(APPEND launcher "-DPERCPU_INDIRECT=1")
  endif()
  if(arg_CHECK)
    list(APPEND launcher "-DPERCPU_CHECK=1")
  endif()
  if(PERCPU_LD)
    list(APPEND launcher "-DPERCPU_LD=${PERCPU_LD}")
  endif()
  list(APPEND launcher -P "${_PERCPU_MODULE_DIR}/PercpuModuleLink.cmake" --)
  set_target_properties(${name} PROPERTIES
    PREFIX "" SUFFIX ".o"
    POSITION_INDEPENDENT_CODE ON
    C_LINKER_LAUNCHER "${launcher}"
    CXX_LINKER_LAUNCHER "${launcher}"
    SKIP_BUILD_RPATH ON
    INSTALL_RPATH ""
    PERCPU_MODULE ON)
  if(TARGET percpu-elfpatch)
    add_dependencies(${name} percpu-elfpatch)  # in percpu's own build tree
  endif()
endfunction()

function(percpu_check)
  cmake_parse_arguments(PARSE_ARGV 0 arg ""
    "NAME;BASELINE;MAX_BLOCK;MAX_GROWTH;FORMAT;OUTPUT;ABI" "TARGET;TARGETS;FILES;DISABLE")
  set(targets ${arg_TARGET} ${arg_TARGETS} ${arg_UNPARSED_ARGUMENTS})
  if(NOT targets AND NOT arg_FILES)
    message(FATAL_ERROR "percpu_check: name the targets (modules, hosts) or FILES to check")
  endif()
  if(NOT TARGET percpu::percpu-elfpatch)
    message(FATAL_ERROR "percpu_check: the percpu::percpu-elfpatch target is missing")
  endif()
  set(files)
  foreach(t IN LISTS targets)
    if(NOT TARGET ${t})
      message(FATAL_ERROR "percpu_check: '${t}' is not a target (give files with FILES)")
    endif()
    list(APPEND files "$<TARGET_FILE:${t}>")
  endforeach()
  foreach(f IN LISTS arg_FILES)
    get_filename_component(f "${f}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
    list(APPEND files "${f}")
  endforeach()
  if(arg_NAME)
    set(name ${arg_NAME})
  elseif(targets)
    list(GET targets 0 first)
    set(name percpu_check_${first})
  else()
    message(FATAL_ERROR "percpu_check: give a NAME when checking FILES only")
  endif()

  set(opts)
  set(depends ${targets} ${files})
  if(arg_FORMAT)
    if(NOT arg_FORMAT MATCHES "^(text|json|sarif)$")
      message(FATAL_ERROR "percpu_check(${name}): FORMAT is text, json or sarif, not '${arg_FORMAT}'")
    endif()
    list(APPEND opts --format ${arg_FORMAT})
  endif()
  set(byproducts)
  if(NOT arg_OUTPUT AND arg_FORMAT MATCHES "^(json|sarif)$")
    set(arg_OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${name}.${arg_FORMAT}")
  endif()
  if(arg_OUTPUT)
    get_filename_component(arg_OUTPUT "${arg_OUTPUT}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
    list(APPEND opts --output "${arg_OUTPUT}")
    set(byproducts BYPRODUCTS "${arg_OUTPUT}")
  endif()
  if(arg_BASELINE)
    get_filename_component(arg_BASELINE "${arg_BASELINE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND opts --baseline "${arg_BASELINE}")
    list(APPEND depends "${arg_BASELINE}")
  endif()
  if(arg_MAX_BLOCK)
    list(APPEND opts --max-block ${arg_MAX_BLOCK})
  endif()
  if(arg_MAX_GROWTH)
    list(APPEND opts --max-growth ${arg_MAX_GROWTH})
  endif()
  if(arg_ABI)
    list(APPEND opts --abi ${arg_ABI})
  endif()
  foreach(r IN LISTS arg_DISABLE)
    list(APPEND opts --disable ${r})
  endforeach()

  # The stamp is written only when the check passes, so a failed check
  # runs again on the next build even though nothing changed.
  set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${name}.stamp")
  add_custom_command(OUTPUT "${stamp}"
    COMMAND "${CMAKE_COMMAND}" -E rm -f "${stamp}"
    COMMAND percpu::percpu-elfpatch check ${opts} ${files}
    COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
    ${byproducts}
    DEPENDS ${depends} percpu::percpu-elfpatch
    COMMENT "percpu-elfpatch check: ${targets}${arg_FILES}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS "${stamp}")
endfunction()
