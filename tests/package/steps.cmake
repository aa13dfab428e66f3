# Steps shared by the package test drivers (cmake -P scripts).

# CONFIG is ctest's -C value: empty for single-configuration generators.
set(config_option "")
set(ctest_config_option "")
if(CONFIG)
  set(config_option --config "${CONFIG}")
  set(ctest_config_option -C "${CONFIG}")
endif()

# Runs a command; fails with the command's output unless it exits 0. A trailing
# WORKING_DIRECTORY <dir> is passed on.
function(package_test_step what)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "WORKING_DIRECTORY" "")
  set(directory_option "")
  if(arg_WORKING_DIRECTORY)
    set(directory_option WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
  endif()
  execute_process(COMMAND ${arg_UNPARSED_ARGUMENTS} ${directory_option}
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${what} failed (${result}):\n${output}")
  endif()
  message(STATUS "${what}: ok")
  set(package_test_output "${output}" PARENT_SCOPE)
endfunction()

# The configure command line: the outer build's generator; everything else (compiler, build
# type, options) comes in the initial-cache file the outer build wrote.
function(package_test_configure_command out source_dir binary_dir initial_cache)
  set(command "${CMAKE_COMMAND}" -S "${source_dir}" -B "${binary_dir}" -G "${GENERATOR}"
              -C "${initial_cache}")
  if(GENERATOR_PLATFORM)
    list(APPEND command -A "${GENERATOR_PLATFORM}")
  endif()
  if(GENERATOR_TOOLSET)
    list(APPEND command -T "${GENERATOR_TOOLSET}")
  endif()
  set(${out} "${command}" PARENT_SCOPE)
endfunction()

function(package_test_configure source_dir binary_dir initial_cache)
  package_test_configure_command(command "${source_dir}" "${binary_dir}" "${initial_cache}")
  package_test_step("configure" ${command} ${ARGN})
  set(package_test_output "${package_test_output}" PARENT_SCOPE)
endfunction()
