# Runs ports/allthings-webhooks/portfile.cmake the way vcpkg would, against this checkout, and
# checks the installed tree. vcpkg itself cannot run here, so the vcpkg helpers the portfile
# calls are stand-ins: configure and install run this project with exactly the options the
# portfile passes; the others check what the real ones would need and move files where the
# real ones would (without rewriting paths, so the tree is checked, not built against).
#   -D PORT_DIR=... SOURCE_DIR=... BINARY_DIR=... GENERATOR=... INITIAL_CACHE=...
#   -D PROJECT_VERSION=... FEATURES=core[;durable][;postgres][;reconcile][;tool]
cmake_minimum_required(VERSION 3.16...3.31)
include("${CMAKE_CURRENT_LIST_DIR}/steps.cmake")

file(REMOVE_RECURSE "${BINARY_DIR}")
set(CURRENT_PACKAGES_DIR "${BINARY_DIR}/packages")
set(PORT allthings-webhooks)
file(READ "${PORT_DIR}/vcpkg.json" manifest)
string(REGEX MATCH "\"version\": \"([^\"]+)\"" _ "${manifest}")
set(VERSION "${CMAKE_MATCH_1}")
if(NOT VERSION STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "vcpkg.json says version '${VERSION}', the project is ${PROJECT_VERSION}")
endif()

# vcpkg also installs the port's own features that a requested feature depends on (the tool
# brings durable and reconcile): add them as vcpkg would, from the manifest.
set(pending ${FEATURES})
while(pending)
  list(POP_FRONT pending feature)
  string(JSON dependencies ERROR_VARIABLE no_dependencies
         GET "${manifest}" features "${feature}" dependencies)
  if(no_dependencies)
    continue()
  endif()
  string(JSON count LENGTH "${dependencies}")
  foreach(index RANGE 1 ${count})
    math(EXPR at "${index} - 1")
    string(JSON name ERROR_VARIABLE plain_name GET "${dependencies}" ${at} name)
    if(plain_name OR NOT name STREQUAL PORT)
      continue()
    endif()
    string(JSON own_features GET "${dependencies}" ${at} features)
    string(JSON own_count LENGTH "${own_features}")
    foreach(own_index RANGE 1 ${own_count})
      math(EXPR own_at "${own_index} - 1")
      string(JSON own_feature GET "${own_features}" ${own_at})
      if(NOT own_feature IN_LIST FEATURES)
        list(APPEND FEATURES ${own_feature})
        list(APPEND pending ${own_feature})
      endif()
    endforeach()
  endforeach()
endwhile()

function(vcpkg_from_github)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUT_SOURCE_PATH;REPO;REF;SHA512;HEAD_REF" "")
  if(NOT arg_REF STREQUAL "v${VERSION}")
    message(FATAL_ERROR "the port downloads ${arg_REF}, not the release tag v${VERSION}")
  endif()
  set(${arg_OUT_SOURCE_PATH} "${SOURCE_DIR}" PARENT_SCOPE)
endfunction()

function(vcpkg_check_features)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUT_FEATURE_OPTIONS" "FEATURES;INVERTED_FEATURES")
  set(options "")
  foreach(kind IN ITEMS FEATURES INVERTED_FEATURES)
    set(pairs ${arg_${kind}})
    while(pairs)
      list(GET pairs 0 feature)
      list(GET pairs 1 variable)
      list(REMOVE_AT pairs 0 1)
      if(feature IN_LIST FEATURES)
        set(value ON)
      else()
        set(value OFF)
      endif()
      if(kind STREQUAL "INVERTED_FEATURES" AND value)
        set(value OFF)
      elseif(kind STREQUAL "INVERTED_FEATURES")
        set(value ON)
      endif()
      list(APPEND options "-D${variable}=${value}")
    endwhile()
  endforeach()
  set(${arg_OUT_FEATURE_OPTIONS} "${options}" PARENT_SCOPE)
endfunction()

# Configures the release build only, as vcpkg does for VCPKG_BUILD_TYPE release. CMake's
# "Manually-specified variables were not used" means a misspelt option: fail on it.
function(vcpkg_cmake_configure)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "SOURCE_PATH"
                        "OPTIONS;OPTIONS_RELEASE;OPTIONS_DEBUG;MAYBE_UNUSED_VARIABLES")
  if(NOT VCPKG_BUILD_TYPE STREQUAL "release")
    message(FATAL_ERROR "a header-only port sets VCPKG_BUILD_TYPE to release")
  endif()
  set(port_options ${arg_OPTIONS} ${arg_OPTIONS_RELEASE})
  package_test_configure("${arg_SOURCE_PATH}" "${BINARY_DIR}/build" "${INITIAL_CACHE}"
    -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_INSTALL_PREFIX=${CURRENT_PACKAGES_DIR}"
    -DCMAKE_INSTALL_LIBDIR=lib
    -DFETCHCONTENT_FULLY_DISCONNECTED=ON
    ${port_options})
  string(FIND "${package_test_output}" "were not used by the project:" unused_at)
  if(unused_at EQUAL -1)
    return()
  endif()
  string(SUBSTRING "${package_test_output}" ${unused_at} -1 unused_report)
  foreach(option IN LISTS port_options)
    string(REGEX REPLACE "^-D([^:=]+).*" "\\1" variable "${option}")
    if(NOT variable IN_LIST arg_MAYBE_UNUSED_VARIABLES
       AND unused_report MATCHES "\n[ ]+${variable}\n")
      message(FATAL_ERROR "the port passes ${option}, which the project does not use:\n"
                          "${package_test_output}")
    endif()
  endforeach()
endfunction()

function(vcpkg_cmake_install)
  package_test_step("build and install" "${CMAKE_COMMAND}" --build "${BINARY_DIR}/build"
                    --config Release --target install --parallel 2)
endfunction()

function(vcpkg_cmake_config_fixup)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "PACKAGE_NAME;CONFIG_PATH" "")
  set(from "${CURRENT_PACKAGES_DIR}/${arg_CONFIG_PATH}")
  if(NOT EXISTS "${from}/${arg_PACKAGE_NAME}Config.cmake")
    message(FATAL_ERROR "no ${arg_PACKAGE_NAME}Config.cmake in ${arg_CONFIG_PATH}")
  endif()
  file(RENAME "${from}" "${CURRENT_PACKAGES_DIR}/share/${arg_PACKAGE_NAME}")
  get_filename_component(parent "${from}" DIRECTORY)
  file(GLOB left_in_parent "${parent}/*")
  if(NOT left_in_parent)
    file(REMOVE_RECURSE "${parent}")
  endif()
endfunction()

function(vcpkg_fixup_pkgconfig)
  file(GLOB pc_files "${CURRENT_PACKAGES_DIR}/lib/pkgconfig/*.pc"
                     "${CURRENT_PACKAGES_DIR}/share/pkgconfig/*.pc")
  foreach(pc_file IN LISTS pc_files)
    file(STRINGS "${pc_file}" prefix_line REGEX "^prefix=")
    if(NOT prefix_line MATCHES [[^prefix=\${pcfiledir}/]])
      message(FATAL_ERROR "${pc_file} is not relocatable: ${prefix_line}")
    endif()
  endforeach()
endfunction()

# Moves the programs from bin to tools/<port>, and removes bin once empty (AUTO_CLEAN).
function(vcpkg_copy_tools)
  cmake_parse_arguments(PARSE_ARGV 0 arg "AUTO_CLEAN" "" "TOOL_NAMES")
  file(MAKE_DIRECTORY "${CURRENT_PACKAGES_DIR}/tools/${PORT}")
  foreach(name IN LISTS arg_TOOL_NAMES)
    if(NOT EXISTS "${CURRENT_PACKAGES_DIR}/bin/${name}")
      message(FATAL_ERROR "vcpkg_copy_tools: no bin/${name} was installed")
    endif()
    file(RENAME "${CURRENT_PACKAGES_DIR}/bin/${name}" "${CURRENT_PACKAGES_DIR}/tools/${PORT}/${name}")
  endforeach()
  file(GLOB left_in_bin "${CURRENT_PACKAGES_DIR}/bin/*")
  if(arg_AUTO_CLEAN AND NOT left_in_bin)
    file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/bin")
  endif()
endfunction()

function(vcpkg_install_copyright)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "" "FILE_LIST")
  set(text "")
  foreach(file IN LISTS arg_FILE_LIST)
    if(NOT EXISTS "${file}")
      message(FATAL_ERROR "the copyright file ${file} does not exist")
    endif()
    file(READ "${file}" content)
    string(APPEND text "${content}")
  endforeach()
  file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright" "${text}")
endfunction()

include("${PORT_DIR}/portfile.cmake")

# The tree a vcpkg user gets.
set(root "${CURRENT_PACKAGES_DIR}")
set(expected
  share/allthings_webhooks/allthings_webhooksConfig.cmake
  share/allthings_webhooks/allthings_webhooksConfigVersion.cmake
  share/allthings_webhooks/allthings_webhooksTargets.cmake
  share/allthings_webhooks/AllthingsWebhooksDependencies.cmake
  share/allthings_webhooks/AllthingsWebhooksLibpq.cmake
  lib/pkgconfig/allthings_webhooks.pc
  share/${PORT}/copyright
  share/${PORT}/usage)
file(GLOB_RECURSE headers RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/include/*.hpp")
list(APPEND expected ${headers})
# What each feature adds to the tree, and only with it.
set(tool tools/${PORT}/allthings-webhooks)
foreach(feature_file IN ITEMS
        "durable=share/allthings_webhooks/allthings_webhooksSqliteTargets.cmake"
        "postgres=share/allthings_webhooks/allthings_webhooksPostgresTargets.cmake"
        "reconcile=share/allthings_webhooks/allthings_webhooksReconcileTargets.cmake"
        "tool=${tool}")
  string(REPLACE "=" ";" feature_file "${feature_file}")
  list(GET feature_file 0 feature)
  list(GET feature_file 1 file)
  if(feature IN_LIST FEATURES)
    list(APPEND expected ${file})
  elseif(EXISTS "${root}/${file}")
    message(FATAL_ERROR "without the ${feature} feature the port installs ${file}")
  endif()
endforeach()
foreach(path IN LISTS expected)
  if(NOT EXISTS "${root}/${path}")
    message(FATAL_ERROR "the port does not install ${path}")
  endif()
endforeach()
foreach(path IN ITEMS debug bin share/cmake)
  if(EXISTS "${root}/${path}")
    message(FATAL_ERROR "a header-only port leaves ${path} behind")
  endif()
endforeach()
if("tool" IN_LIST FEATURES)
  package_test_step("the installed tool answers --help" "${root}/${tool}" --help)
endif()
if("tool" IN_LIST FEATURES AND "reconcile" IN_LIST FEATURES)
  package_test_step("the installed tool has reconcile" "${root}/${tool}" reconcile --help)
endif()

file(READ "${root}/share/${PORT}/copyright" copyright)
file(READ "${SOURCE_DIR}/LICENSE" license)
if(NOT copyright STREQUAL license)
  message(FATAL_ERROR "share/${PORT}/copyright is not the LICENSE")
endif()

# The version file, asked the way find_package asks it: the same minor version is compatible,
# the next minor or major is not, and the pointer size does not matter (header-only).
function(version_file_accepts requested pointer_size out)
  string(REPLACE "." ";" parts "${requested}")
  list(LENGTH parts PACKAGE_FIND_VERSION_COUNT)
  list(APPEND parts 0 0 0)
  list(GET parts 0 PACKAGE_FIND_VERSION_MAJOR)
  list(GET parts 1 PACKAGE_FIND_VERSION_MINOR)
  list(GET parts 2 PACKAGE_FIND_VERSION_PATCH)
  set(PACKAGE_FIND_VERSION_TWEAK 0)
  set(PACKAGE_FIND_VERSION "${requested}")
  set(PACKAGE_FIND_NAME allthings_webhooks)
  set(CMAKE_SIZEOF_VOID_P ${pointer_size})
  include("${root}/share/allthings_webhooks/allthings_webhooksConfigVersion.cmake")
  if(PACKAGE_VERSION_COMPATIBLE AND NOT PACKAGE_VERSION_UNSUITABLE)
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

string(REPLACE "." ";" version_parts "${PROJECT_VERSION}")
list(GET version_parts 0 major)
list(GET version_parts 1 minor)
math(EXPR next_minor "${minor} + 1")
math(EXPR next_major "${major} + 1")
foreach(case IN ITEMS "${major}.${minor}|8|TRUE" "${PROJECT_VERSION}|4|TRUE"
                      "${major}.${next_minor}|8|FALSE" "${next_major}.0|8|FALSE")
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 requested)
  list(GET case 1 pointer_size)
  list(GET case 2 expected_answer)
  version_file_accepts("${requested}" ${pointer_size} answer)
  if(NOT answer STREQUAL expected_answer)
    message(FATAL_ERROR "asked for ${requested} (${pointer_size}-byte pointers), the version "
                        "file of ${PROJECT_VERSION} answers '${answer}'")
  endif()
endforeach()
message(STATUS "the port's tree is complete")
