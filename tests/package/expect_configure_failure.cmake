# Configures a project that must fail, and checks that the failure names what the user should
# install (EXPECT: phrases that must appear) and nothing misleading (REJECT: phrases that must
# not).
# With HIDE_PKG_CONFIG_MODULES, pkg-config runs but finds no module at all, as on a machine
# without the -dev packages. (CMAKE_DISABLE_FIND_PACKAGE_PkgConfig would break FindOpenSSL.)
#   -D SOURCE_DIR=... BINARY_DIR=... INITIAL_CACHE=... GENERATOR=... EXPECT=a;b [REJECT=c;d]
#   [-D HIDE_PKG_CONFIG_MODULES=ON]
cmake_minimum_required(VERSION 3.16...3.31)
include("${CMAKE_CURRENT_LIST_DIR}/steps.cmake")

file(REMOVE_RECURSE "${BINARY_DIR}")
if(HIDE_PKG_CONFIG_MODULES)
  file(MAKE_DIRECTORY "${BINARY_DIR}/no-pkg-config-modules")
  set(ENV{PKG_CONFIG_LIBDIR} "${BINARY_DIR}/no-pkg-config-modules")
  unset(ENV{PKG_CONFIG_PATH})
endif()
package_test_configure_command(command "${SOURCE_DIR}" "${BINARY_DIR}" "${INITIAL_CACHE}")
execute_process(COMMAND ${command}
  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(result EQUAL 0)
  message(FATAL_ERROR "the configure succeeded although dependencies were hidden:\n${output}")
endif()
# CMake wraps long messages: compare with all white space as single spaces.
string(REGEX REPLACE "[ \t\r\n]+" " " flat_output "${output}")
foreach(phrase IN LISTS EXPECT)
  string(FIND "${flat_output}" "${phrase}" position)
  if(position EQUAL -1)
    message(FATAL_ERROR "the failed configure does not say \"${phrase}\":\n${output}")
  endif()
endforeach()
foreach(phrase IN LISTS REJECT)
  string(FIND "${flat_output}" "${phrase}" position)
  if(NOT position EQUAL -1)
    message(FATAL_ERROR "the failed configure says \"${phrase}\", which does not apply:\n${output}")
  endif()
endforeach()
message(STATUS "the configure failed and said what to install")
