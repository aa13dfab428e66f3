# cmake -P driver for one consumer project: configure it afresh, build it, run its tests and,
# with EXPECT_NOTHING_INSTALLED, check that `cmake --install` installs nothing. Each step must
# succeed; a failing step fails the test and shows its output.
#   -D SOURCE_DIR=... BINARY_DIR=... INITIAL_CACHE=... GENERATOR=... CTEST=... CONFIG=...
#   [-D GENERATOR_PLATFORM=... GENERATOR_TOOLSET=... EXPECT_NOTHING_INSTALLED=ON]
cmake_minimum_required(VERSION 3.16...3.31)
include("${CMAKE_CURRENT_LIST_DIR}/steps.cmake")

file(REMOVE_RECURSE "${BINARY_DIR}")
package_test_configure("${SOURCE_DIR}" "${BINARY_DIR}" "${INITIAL_CACHE}")
package_test_step("build" "${CMAKE_COMMAND}" --build "${BINARY_DIR}" ${config_option})
package_test_step("run" "${CTEST}" ${ctest_config_option} --output-on-failure
                  WORKING_DIRECTORY "${BINARY_DIR}")
if(package_test_output MATCHES "No tests were found")
  message(FATAL_ERROR "the consumer registered no test to run:\n${package_test_output}")
endif()

if(EXPECT_NOTHING_INSTALLED)
  set(prefix "${BINARY_DIR}/install-must-stay-empty")
  package_test_step("install" "${CMAKE_COMMAND}" --install "${BINARY_DIR}" ${config_option}
                    --prefix "${prefix}")
  file(GLOB_RECURSE installed LIST_DIRECTORIES false "${prefix}/*")
  if(installed)
    string(REPLACE ";" "\n  " installed "${installed}")
    message(FATAL_ERROR "a consumer's install installed files of ours:\n  ${installed}")
  endif()
endif()
