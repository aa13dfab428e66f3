# Installs the outer build into a fresh staging prefix, as a user's `cmake --install` would.
#   -D BUILD_DIR=... PREFIX=... CONFIG=...
cmake_minimum_required(VERSION 3.16...3.31)
include("${CMAKE_CURRENT_LIST_DIR}/steps.cmake")

file(REMOVE_RECURSE "${PREFIX}")
package_test_step("install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" ${config_option}
                  --prefix "${PREFIX}")
