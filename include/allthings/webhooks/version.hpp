#pragma once

// The one place the version lives; CMake parses these three lines.
#define ALLTHINGS_WEBHOOKS_VERSION_MAJOR 0
#define ALLTHINGS_WEBHOOKS_VERSION_MINOR 1
#define ALLTHINGS_WEBHOOKS_VERSION_PATCH 0

#define ALLTHINGS_WEBHOOKS_VERSION_STRING "0.1.0"
