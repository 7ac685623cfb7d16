# The link step of percpu_add_module(): CMake runs it as the module target's
# linker launcher,
#   cmake -DPERCPU_TOOLS=... -DPERCPU_MODULE=name [-DPERCPU_INDIRECT=1]
#         [-DPERCPU_CHECK=1] [-DPERCPU_LD=ld.lld] -P PercpuModuleLink.cmake -- <link command>
# where <link command> is the compiler driver's shared-module link line.  Of
# that line only the output (-o) and the inputs (objects, static libraries,
# response files) are kept; they go to `percpu-elfpatch link`.
include("${PERCPU_TOOLS}")

include("${CMAKE_CURRENT_LIST_DIR}/PercpuLauncherArgs.cmake")
percpu_launcher_command(command)
list(LENGTH command n)
if(n LESS 2)
  message(FATAL_ERROR "percpu_add_module(${PERCPU_MODULE}): no link command after '--'")
endif()
list(REMOVE_AT command 0)  # the compiler driver

# Response files (Ninja's @file for long lines) hold more of the same.
set(args)
foreach(a IN LISTS command)
  if(a MATCHES "^@(.+)$")
    file(READ "${CMAKE_MATCH_1}" rsp)
    separate_arguments(rsp UNIX_COMMAND "${rsp}")
    list(APPEND args ${rsp})
  else()
    list(APPEND args "${a}")
  endif()
endforeach()

set(output)
set(inputs)
set(next_is_output FALSE)
foreach(a IN LISTS args)
  if(next_is_output)
    set(output "${a}")
    set(next_is_output FALSE)
  elseif(a STREQUAL "-o")
    set(next_is_output TRUE)
  elseif(a MATCHES "^-")
    # Driver flags, -l libraries, -Wl options: a module resolves its
    # libraries against the process that loads it.
  elseif(a MATCHES "(^|/)libpercpu(-loader|-elfpatch)?\\.a$")
    message(FATAL_ERROR "percpu_add_module(${PERCPU_MODULE}): ${a} cannot be linked into a "
                        "module: the module uses the host's runtime (link percpu::module, "
                        "not percpu::runtime or percpu::loader)")
  elseif(a MATCHES "\\.(so|so\\.[0-9.]+)$")
    message(FATAL_ERROR "percpu_add_module(${PERCPU_MODULE}): ${a} is a shared library; a module "
                        "resolves shared libraries against the process that loads it (load the "
                        "library in the host) and can only take objects and static libraries")
  else()
    list(APPEND inputs "${a}")
  endif()
endforeach()
if(NOT output)
  message(FATAL_ERROR "percpu_add_module(${PERCPU_MODULE}): the link command has no -o")
endif()
if(NOT inputs)
  message(FATAL_ERROR "percpu_add_module(${PERCPU_MODULE}): nothing to link")
endif()

set(link "${PERCPU_ELFPATCH}" link -o "${output}")
if(PERCPU_INDIRECT)
  list(APPEND link --indirect)
endif()
if(PERCPU_LD)
  list(APPEND link --ld "${PERCPU_LD}")
endif()
execute_process(COMMAND ${link} ${inputs} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${output}")
  message(FATAL_ERROR "percpu_add_module(${PERCPU_MODULE}): percpu-elfpatch link failed (${rc})")
endif()
if(PERCPU_CHECK)
  execute_process(COMMAND "${PERCPU_ELFPATCH}" check "${output}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE "${output}")
    message(FATAL_ERROR "percpu_add_module(${PERCPU_MODULE}): percpu-elfpatch check failed; "
                        "the module was not kept")
  endif()
endif()
