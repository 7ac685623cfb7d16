# The link step of percpu_add_library(): CMake runs it as the library
# target's linker launcher,
#   cmake -DPERCPU_TOOLS=... -P PercpuLibraryLink.cmake -- <link command>
# and it runs `percpu-elfpatch link --shared -- <link command>`, which
# patches the command's objects (`patch --indirect`, into temporary copies)
# and runs it.
include("${PERCPU_TOOLS}")
include("${CMAKE_CURRENT_LIST_DIR}/PercpuLauncherArgs.cmake")
percpu_launcher_command(command)
if(NOT command)
  message(FATAL_ERROR "percpu_add_library: no link command after '--'")
endif()
execute_process(COMMAND "${PERCPU_ELFPATCH}" link --shared -- ${command} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "percpu_add_library: the link failed (percpu-elfpatch link --shared: ${rc})")
endif()
