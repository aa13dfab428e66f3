# Installs the outer build into a fresh staging prefix, as a user's `cmake --install` would.
#   -D BUILD_DIR=... PREFIX=... CONFIG=... WITH_TOOL=ON|OFF BINDIR=bin
cmake_minimum_required(VERSION 3.16...3.31)
include("${CMAKE_CURRENT_LIST_DIR}/steps.cmake")

file(REMOVE_RECURSE "${PREFIX}")
package_test_step("install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" ${config_option}
                  --prefix "${PREFIX}")

# The command, where it was built, lands in bin/ and runs from there.
if(WITH_TOOL)
  package_test_step("the installed tool answers --help" "${PREFIX}/${BINDIR}/allthings-webhooks"
                    --help)
endif()
