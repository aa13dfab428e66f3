vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO allthings-webhooks/allthings-webhooks
    REF "v${VERSION}"
    # The release archive's hash: vcpkg rejects 0 and prints the value to put here.
    SHA512 0
    HEAD_REF main
)

# Header-only, and the tool is a release program: one configuration is enough.
set(VCPKG_BUILD_TYPE release)

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        durable CMAKE_REQUIRE_FIND_PACKAGE_SQLite3
        postgres CMAKE_REQUIRE_FIND_PACKAGE_PostgreSQL
        reconcile ALLTHINGS_WEBHOOKS_RECONCILE
        tool ALLTHINGS_WEBHOOKS_BUILD_TOOL
    INVERTED_FEATURES
        durable CMAKE_DISABLE_FIND_PACKAGE_SQLite3
        postgres CMAKE_DISABLE_FIND_PACKAGE_PostgreSQL
)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${FEATURE_OPTIONS}
        -DALLTHINGS_WEBHOOKS_BUILD_TESTS=OFF
        -DALLTHINGS_WEBHOOKS_BUILD_EXAMPLES=OFF
        -DALLTHINGS_WEBHOOKS_BUILD_BENCHMARKS=OFF
        -DALLTHINGS_WEBHOOKS_INSTALL=ON
        -DALLTHINGS_WEBHOOKS_FETCH_DEPS=OFF
        -DALLTHINGS_WEBHOOKS_PKGCONFIG_INSTALL_DIR=lib/pkgconfig
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME allthings_webhooks CONFIG_PATH share/cmake/allthings_webhooks)
vcpkg_fixup_pkgconfig()
if("tool" IN_LIST FEATURES)
    # vcpkg keeps programs in tools/<port>, not bin.
    vcpkg_copy_tools(TOOL_NAMES allthings-webhooks AUTO_CLEAN)
endif()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
