# Builds programs with nothing but
#   c++ -std=c++17 app.cpp $(pkg-config --cflags --libs allthings_webhooks)
# against a copy of the staged install in another place (the .pc must be relocatable), then
# runs them.
#   -D STAGE=... BINARY_DIR=... PKG_CONFIG=... CXX=... PKGCONFIG_DIR=<relative to the prefix>
#   -D QUICKSTART=<examples/quickstart.cpp> ROUND_TRIP=<round_trip.cpp> [WITH_POSTGRES=ON]
cmake_minimum_required(VERSION 3.16...3.31)
include("${CMAKE_CURRENT_LIST_DIR}/steps.cmake")

file(REMOVE_RECURSE "${BINARY_DIR}")
set(prefix "${BINARY_DIR}/moved-prefix")
file(COPY "${STAGE}/" DESTINATION "${prefix}")
set(ENV{PKG_CONFIG_PATH} "${prefix}/${PKGCONFIG_DIR}")

package_test_step("pkg-config --variable=includedir" "${PKG_CONFIG}" --variable=includedir
                  allthings_webhooks)
string(STRIP "${package_test_output}" includedir)
get_filename_component(includedir "${includedir}" REALPATH)
get_filename_component(expected_includedir "${prefix}/include" REALPATH)
if(NOT includedir STREQUAL expected_includedir)
  message(FATAL_ERROR "the moved .pc points at ${includedir}, not at ${expected_includedir}")
endif()

package_test_step("pkg-config --cflags --libs" "${PKG_CONFIG}" --cflags --libs allthings_webhooks)
separate_arguments(flags UNIX_COMMAND "${package_test_output}")
message(STATUS "flags: ${package_test_output}")

foreach(program IN ITEMS QUICKSTART ROUND_TRIP)
  string(TOLOWER "${program}" name)
  package_test_step("compile ${name}" "${CXX}" -std=c++17 "${${program}}" ${flags}
                    -o "${BINARY_DIR}/${name}")
endforeach()

# The quick start serves on port 8080 forever once it has a secret; without one it must start,
# say what it needs and exit 2.
unset(ENV{ALLTHINGS_WEBHOOK_SECRET})
execute_process(COMMAND "${BINARY_DIR}/quickstart"
  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
string(FIND "${output}" "ALLTHINGS_WEBHOOK_SECRET" position)
if(NOT result EQUAL 2 OR position EQUAL -1)
  message(FATAL_ERROR "quickstart without a secret exited ${result} and said:\n${output}")
endif()
message(STATUS "run quickstart: ok")

package_test_step("run round_trip" "${BINARY_DIR}/round_trip")

# The shared inbox, as the README shows it: our .pc plus libpq's.
if(WITH_POSTGRES)
  package_test_step("pkg-config --cflags --libs allthings_webhooks libpq" "${PKG_CONFIG}"
                    --cflags --libs allthings_webhooks libpq)
  separate_arguments(postgres_flags UNIX_COMMAND "${package_test_output}")
  package_test_step("compile round_trip with the postgres inbox" "${CXX}" -std=c++17
                    -DWITH_POSTGRES_INBOX "${ROUND_TRIP}" ${postgres_flags}
                    -o "${BINARY_DIR}/round_trip_postgres")
  package_test_step("run round_trip with the postgres inbox" "${BINARY_DIR}/round_trip_postgres")
endif()
