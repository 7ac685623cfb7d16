# Writes one man page from a tool's --help, so the page and --help cannot
# drift:
#   cmake -DTOOL=<exe> [-DSUBCOMMAND=<sub>] -DPAGE=<name> -DVERSION=<v>
#         -DSEE_ALSO=<page;page...> -DOUT=<file.1> -DWORK=<dir> -P PercpuManPage.cmake
# The page's NAME line is the first line of --help (the command's own
# description); help2man formats the rest.
find_program(HELP2MAN help2man REQUIRED)
file(MAKE_DIRECTORY "${WORK}")
set(wrapper "${WORK}/${PAGE}")
if(SUBCOMMAND)
  file(WRITE "${wrapper}" "#!/bin/sh\nexec \"${TOOL}\" ${SUBCOMMAND} \"$@\"\n")
else()
  file(WRITE "${wrapper}" "#!/bin/sh\nexec \"${TOOL}\" \"$@\"\n")
endif()
file(CHMOD "${wrapper}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
     WORLD_READ WORLD_EXECUTE)
execute_process(COMMAND "${wrapper}" --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PAGE}: `--help` failed (${rc})")
endif()
string(REGEX MATCH "^[^\n]*" name "${help}")
string(REGEX REPLACE "^[a-z-]+: " "" name "${name}")   # "percpu-load: load ..." -> "load ..."
set(include "${WORK}/${PAGE}.h2m")
set(see "")
foreach(p IN LISTS SEE_ALSO)
  if(see)
    string(APPEND see ",\n")
  endif()
  string(APPEND see ".BR ${p} (1)")
endforeach()
file(WRITE "${include}" "[SEE ALSO]\n${see}\n")
execute_process(COMMAND "${HELP2MAN}" --no-info --no-discard-stderr "--version-string=${VERSION}"
                        "--name=${name}" --section=1 "--include=${include}" -o "${OUT}" "${wrapper}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PAGE}: help2man failed (${rc})")
endif()

# What help2man leaves to the reader, made into sections a man page has:
#  - examples one command a line (.nf), under EXAMPLES whatever --help's
#    heading said ("Example:" becomes a subsection otherwise);
#  - the "Exit status:" paragraph as EXIT STATUS;
#  - the "Environment:" paragraph as ENVIRONMENT (help2man makes its
#    two-column lines tagged paragraphs, one variable each).
file(READ "${OUT}" page)
string(REPLACE ".SS \"Example:\"\n" ".SH EXAMPLES\n" page "${page}")
string(REPLACE ".SS \"Examples:\"\n" ".SH EXAMPLES\n" page "${page}")
string(REPLACE ".PP\nEnvironment:\n" ".SH ENVIRONMENT\n" page "${page}")
# A block of lines after `heading` (a .IP paragraph) printed unfilled.
function(percpu_unfill heading)
  string(FIND "${page}" "${heading}.IP\n" at)
  if(at EQUAL -1)
    return()
  endif()
  string(LENGTH "${heading}.IP\n" skip)
  math(EXPR start "${at} + ${skip}")
  string(SUBSTRING "${page}" 0 ${at} head)
  string(SUBSTRING "${page}" ${start} -1 rest)
  string(FIND "${rest}" "\n." next)
  if(next EQUAL -1)
    string(LENGTH "${rest}" next)
  endif()
  string(SUBSTRING "${rest}" 0 ${next} body)
  string(SUBSTRING "${rest}" ${next} -1 tail)
  set(page "${head}${heading}.nf\n${body}\n.fi${tail}" PARENT_SCOPE)
endfunction()
percpu_unfill(".SH EXAMPLES\n")
string(REPLACE ".PP\nExit status: " ".SH \"EXIT STATUS\"\n" page "${page}")
file(WRITE "${OUT}" "${page}")
