#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

#include "../../error.hpp"
#include "../../options.hpp"

// The timestamp window shared by every scheme that sends a timestamp.
namespace allthings::webhooks::detail {

// Milliseconds since the epoch, saturating instead of overflowing for absurd values.
inline std::uint64_t timestamp_to_millis(std::uint64_t value, TimestampUnit unit) {
  const bool is_seconds = unit == TimestampUnit::seconds ||
                          (unit == TimestampUnit::automatic && value < 100000000000ULL);
  if (!is_seconds) return value;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  return value > max / 1000 ? max : value * 1000;
}

// Checks a timestamp against [now - tolerance, now + future_skew]; nullopt means inside.
inline std::optional<ErrorKind> check_timestamp_window(std::uint64_t timestamp_ms,
                                                       std::chrono::system_clock::time_point now,
                                                       std::chrono::milliseconds tolerance,
                                                       std::chrono::milliseconds future_skew) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto now_ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  const auto now_u = static_cast<std::uint64_t>(now_ms < 0 ? 0 : now_ms);
  const auto tol = static_cast<std::uint64_t>(tolerance.count());
  const auto skew = static_cast<std::uint64_t>(future_skew.count());
  if (now_u > tol && timestamp_ms < now_u - tol) return ErrorKind::stale_timestamp;
  if (timestamp_ms > now_u && timestamp_ms - now_u > skew) return ErrorKind::future_timestamp;
  return std::nullopt;
}

}  // namespace allthings::webhooks::detail
