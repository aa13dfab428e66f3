#pragma once

// What the crash test and its child agree on.
#include <cstddef>

namespace crash {

// The child's usage: crash_child INBOX_DB PROCESSED_DB RUN
// It prints "port <n>" once it accepts connections, records every event its handler runs in
// PROCESSED_DB (table processed: id, attempt, run), and stops gracefully on SIGTERM.
inline constexpr const char* secret = "whsec_crash_test";
inline constexpr std::size_t workers = 4;

}  // namespace crash
