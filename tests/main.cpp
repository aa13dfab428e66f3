// Neither Debian nor vcpkg ships doctest_with_main, so the runner's main lives here.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
