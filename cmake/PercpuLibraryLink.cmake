# The link step of percpu_add_library(): CMake runs it as the library
# target's linker launcher,
#   cmake -DPERCPU_TOOLS=... -P PercpuLibraryLink.cmake -- <link command>
# and it runs `percpu-elfpatch link --shared -- <link command>`, which
# patches the command's objects (`patch --indirect`, into temporary copies)
# and runs it.
include("${PERCPU_TOOLS}")
set(command)
set(after_dashes FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 1 ${last})
  if(after_dashes)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_dashes TRUE)
  endif()
endforeach()
if(NOT command)
  message(FATAL_ERROR "percpu_add_library: no link command after '--'")
endif()
execute_process(COMMAND "${PERCPU_ELFPATCH}" link --shared -- ${command} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "percpu_add_library: the link failed (percpu-elfpatch link --shared: ${rc})")
endif()
