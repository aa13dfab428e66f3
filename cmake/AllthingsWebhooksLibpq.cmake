# Finds libpq for allthings::webhooks_postgres and makes sure PostgreSQL::PostgreSQL exists when
# it is found: CMake's FindPostgreSQL first (vcpkg's libpq answers it too), then pkg-config
# `libpq` (FindPostgreSQL before CMake 3.20 also insisted on the server's headers). A missing
# libpq is never an error here: the postgres target is then simply not defined.
# -DCMAKE_DISABLE_FIND_PACKAGE_PostgreSQL=ON leaves it out; -DCMAKE_REQUIRE_FIND_PACKAGE_PostgreSQL=ON
# (CMake >= 3.22) insists on it. Used by this project's CMakeLists.txt and by the installed
# package config.
if(NOT TARGET PostgreSQL::PostgreSQL)
  find_package(PostgreSQL QUIET)
endif()
if(NOT TARGET PostgreSQL::PostgreSQL AND NOT CMAKE_DISABLE_FIND_PACKAGE_PostgreSQL)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(ALLTHINGS_WEBHOOKS_PC_LIBPQ QUIET IMPORTED_TARGET GLOBAL libpq)
    if(ALLTHINGS_WEBHOOKS_PC_LIBPQ_FOUND)
      add_library(PostgreSQL::PostgreSQL INTERFACE IMPORTED GLOBAL)
      target_link_libraries(PostgreSQL::PostgreSQL INTERFACE PkgConfig::ALLTHINGS_WEBHOOKS_PC_LIBPQ)
    endif()
  endif()
endif()
