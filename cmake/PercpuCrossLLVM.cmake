# LLVM for a cross build (cmake/toolchains/*.cmake): the target's libLLVM
# and headers from PERCPU_SYSROOT, which scripts/<arch>-sysroot.sh prepares
# (run here, idempotent), and the build machine's LLVM tools (ld.lld,
# llvm-mc, yaml2obj) for what runs at build and test time on this machine.
# LLVM's CMake package is not used: its exports name every static library and
# tool of the target's llvm-N and llvm-N-dev, which the build does not need.
set(_script ${PROJECT_SOURCE_DIR}/scripts/${CMAKE_SYSTEM_PROCESSOR}-sysroot.sh)
execute_process(COMMAND ${CMAKE_COMMAND} -E env PERCPU_LLVM_VERSION=${PERCPU_LLVM_VERSION}
                        bash ${_script} ${PERCPU_SYSROOT}
                RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${_script} ${PERCPU_SYSROOT} failed (${_rc})")
endif()
set(_prefix ${PERCPU_SYSROOT}/usr/lib/llvm-${PERCPU_LLVM_VERSION})
set(LLVM_INCLUDE_DIRS ${_prefix}/include)
file(STRINGS ${LLVM_INCLUDE_DIRS}/llvm/Config/llvm-config.h _version REGEX "define LLVM_VERSION_STRING")
string(REGEX MATCH "\"([0-9]+)\\.[^\"]*\"" _ "${_version}")
set(LLVM_PACKAGE_VERSION ${CMAKE_MATCH_0})
string(REPLACE "\"" "" LLVM_PACKAGE_VERSION "${LLVM_PACKAGE_VERSION}")
set(LLVM_VERSION_MAJOR ${CMAKE_MATCH_1})
if(NOT LLVM_VERSION_MAJOR EQUAL PERCPU_LLVM_VERSION)
  message(FATAL_ERROR "${LLVM_INCLUDE_DIRS} is LLVM '${LLVM_PACKAGE_VERSION}', expected ${PERCPU_LLVM_VERSION}")
endif()
file(GLOB _lib ${PERCPU_SYSROOT}/usr/lib/${PERCPU_TARGET_TRIPLE}/libLLVM.so.${PERCPU_LLVM_VERSION}*)
if(NOT _lib)
  message(FATAL_ERROR "no libLLVM.so.${PERCPU_LLVM_VERSION}* in ${PERCPU_SYSROOT}")
endif()
list(GET _lib 0 PERCPU_LLVM_LIBRARY)
# What LLVMConfig.cmake's LLVM_DEFINITIONS holds on Debian.
set(LLVM_DEFINITIONS "-D_GNU_SOURCE -D__STDC_CONSTANT_MACROS -D__STDC_FORMAT_MACROS -D__STDC_LIMIT_MACROS")
set(LLVM_TOOLS_BINARY_DIR /usr/lib/llvm-${PERCPU_LLVM_VERSION}/bin)
if(NOT EXISTS ${LLVM_TOOLS_BINARY_DIR}/ld.lld)
  message(FATAL_ERROR "the build machine's LLVM ${PERCPU_LLVM_VERSION} tools are missing (${LLVM_TOOLS_BINARY_DIR})")
endif()
set(LLVM_DIR ${_prefix})
unset(_prefix)
unset(_lib)
unset(_version)
unset(_script)
unset(_rc)
