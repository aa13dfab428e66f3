# Finds what allthings-webhooks needs and makes sure these targets exist:
#   httplib::httplib, nlohmann_json::nlohmann_json, OpenSSL::SSL, OpenSSL::Crypto,
#   Threads::Threads
# Used by this project's CMakeLists.txt and, installed next to the package config, by
# find_package(allthings_webhooks), so a consumer re-finds everything by itself. Targets a parent
# project already defines are used as they are. Running it again is harmless.
#
# cpp-httplib, in order: its CMake package; pkg-config `cpp-httplib` (Debian 12 ships only a
# compiled library with a .pc); FetchContent when ALLTHINGS_WEBHOOKS_FETCH_DEPS is ON. Setting
# FETCHCONTENT_SOURCE_DIR_HTTPLIB means "use that source" and goes first.
#
# Nothing here stops the configure; the includer decides what a gap means:
#   ALLTHINGS_WEBHOOKS_MISSING_DEPENDENCIES    empty, or one line per missing dependency naming
#                                              the Debian and vcpkg packages that provide it
#   ALLTHINGS_WEBHOOKS_HTTPLIB_FROM_PKG_CONFIG whether httplib::httplib wraps pkg-config
#                                              `cpp-httplib` (the .pc file then requires it)

set(ALLTHINGS_WEBHOOKS_MISSING_DEPENDENCIES "")
set(ALLTHINGS_WEBHOOKS_HTTPLIB_FROM_PKG_CONFIG FALSE)

set(_allthings_webhooks_httplib_tag v0.53.1)
set(_allthings_webhooks_json_url
    https://github.com/nlohmann/json/releases/download/v3.11.3/json.tar.xz)

macro(_allthings_webhooks_fetch_httplib)
  include(FetchContent)
  # HTTPS needs cpp-httplib's OpenSSL support; without this it would quietly go without it.
  if(NOT DEFINED HTTPLIB_REQUIRE_OPENSSL)
    set(HTTPLIB_REQUIRE_OPENSSL ON)
  endif()
  # A downloaded cpp-httplib is installed only along with this library, whose export needs it.
  if(NOT DEFINED HTTPLIB_INSTALL)
    set(HTTPLIB_INSTALL ${ALLTHINGS_WEBHOOKS_INSTALL})
  endif()
  FetchContent_Declare(httplib
    GIT_REPOSITORY https://github.com/yhirose/cpp-httplib.git
    GIT_TAG ${_allthings_webhooks_httplib_tag}
    GIT_SHALLOW TRUE)
  FetchContent_MakeAvailable(httplib)
endmacro()

if(NOT TARGET httplib::httplib AND FETCHCONTENT_SOURCE_DIR_HTTPLIB)
  _allthings_webhooks_fetch_httplib()
endif()

if(NOT TARGET httplib::httplib)
  # No version: httplib's version file accepts only the same minor version.
  find_package(httplib CONFIG QUIET)
endif()

if(NOT TARGET httplib::httplib)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(ALLTHINGS_WEBHOOKS_PC_HTTPLIB QUIET IMPORTED_TARGET GLOBAL cpp-httplib)
    if(ALLTHINGS_WEBHOOKS_PC_HTTPLIB_FOUND)
      add_library(httplib::httplib INTERFACE IMPORTED GLOBAL)
      target_link_libraries(httplib::httplib INTERFACE PkgConfig::ALLTHINGS_WEBHOOKS_PC_HTTPLIB)
    endif()
  endif()
endif()
if(TARGET PkgConfig::ALLTHINGS_WEBHOOKS_PC_HTTPLIB)
  set(ALLTHINGS_WEBHOOKS_HTTPLIB_FROM_PKG_CONFIG TRUE)
endif()

if(NOT TARGET httplib::httplib AND ALLTHINGS_WEBHOOKS_FETCH_DEPS)
  _allthings_webhooks_fetch_httplib()
endif()

if(NOT TARGET httplib::httplib)
  string(APPEND ALLTHINGS_WEBHOOKS_MISSING_DEPENDENCIES
    "cpp-httplib was found neither as a CMake package nor by pkg-config 'cpp-httplib'. "
    "Install it: Debian/Ubuntu 'apt-get install libcpp-httplib-dev', vcpkg 'cpp-httplib'.\n")
endif()

if(NOT TARGET nlohmann_json::nlohmann_json)
  find_package(nlohmann_json 3.10 CONFIG QUIET)
endif()
if(NOT TARGET nlohmann_json::nlohmann_json AND ALLTHINGS_WEBHOOKS_FETCH_DEPS)
  include(FetchContent)
  FetchContent_Declare(json URL ${_allthings_webhooks_json_url})
  FetchContent_MakeAvailable(json)
endif()
if(NOT TARGET nlohmann_json::nlohmann_json)
  string(APPEND ALLTHINGS_WEBHOOKS_MISSING_DEPENDENCIES
    "nlohmann_json >= 3.10 was not found. "
    "Install it: Debian/Ubuntu 'apt-get install nlohmann-json3-dev', vcpkg 'nlohmann-json'.\n")
endif()

# libcrypto for the HMAC; libssl for HTTPS (the endpoint sets up cpp-httplib's TLS context).
if(NOT TARGET OpenSSL::Crypto OR NOT TARGET OpenSSL::SSL)
  find_package(OpenSSL 3 QUIET COMPONENTS Crypto SSL)
endif()
if(NOT TARGET OpenSSL::Crypto OR NOT TARGET OpenSSL::SSL)
  string(APPEND ALLTHINGS_WEBHOOKS_MISSING_DEPENDENCIES
    "OpenSSL 3 (libssl and libcrypto) was not found. "
    "Install it: Debian/Ubuntu 'apt-get install libssl-dev', vcpkg 'openssl'.\n")
endif()

if(NOT TARGET Threads::Threads)
  set(THREADS_PREFER_PTHREAD_FLAG ON)
  find_package(Threads QUIET)
endif()
if(NOT TARGET Threads::Threads)
  string(APPEND ALLTHINGS_WEBHOOKS_MISSING_DEPENDENCIES
    "No thread library was found (Threads::Threads).\n")
endif()
