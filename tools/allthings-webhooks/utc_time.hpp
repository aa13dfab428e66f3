#pragma once

// A point in time as the tool prints it: UTC, to the second ("2026-12-01T22:38:14Z").
#include <chrono>
#include <ctime>
#include <string>

namespace allthings::webhooks::tool {

inline std::string utc(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace allthings::webhooks::tool
