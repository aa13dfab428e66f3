# A parent that brings its own cpp-httplib and nlohmann_json targets, as a project vendoring
# them would. Each carries a marker definition; round_trip.cpp fails to compile unless both
# reach it through allthings::webhooks.
find_path(PARENT_NLOHMANN_JSON_INCLUDE_DIR nlohmann/json.hpp)
if(NOT PARENT_NLOHMANN_JSON_INCLUDE_DIR)
  message(FATAL_ERROR "the parent-targets consumer needs nlohmann/json.hpp")
endif()
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${PARENT_NLOHMANN_JSON_INCLUDE_DIR}"
  INTERFACE_COMPILE_DEFINITIONS PARENT_PROVIDES_NLOHMANN_JSON)

add_library(httplib::httplib INTERFACE IMPORTED)
if(FETCHCONTENT_SOURCE_DIR_HTTPLIB)
  # A header-only cpp-httplib source tree.
  find_package(Threads REQUIRED)
  set_target_properties(httplib::httplib PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${FETCHCONTENT_SOURCE_DIR_HTTPLIB}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
else()
  # Debian's compiled cpp-httplib.
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(PARENT_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  set_target_properties(httplib::httplib PROPERTIES
    INTERFACE_LINK_LIBRARIES PkgConfig::PARENT_HTTPLIB)
endif()
set_property(TARGET httplib::httplib APPEND PROPERTY
  INTERFACE_COMPILE_DEFINITIONS PARENT_PROVIDES_HTTPLIB)
