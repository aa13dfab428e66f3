#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../../error.hpp"
#include "../../options.hpp"
#include "../../scheme.hpp"
#include "../text/ascii.hpp"

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

// The timestamp of schemes that send Unix seconds (Standard Webhooks, Stripe, Slack), checked
// in two steps: whether it is readable before the signature is checked, and whether it lies in
// the receiver's window once the signature is known to be genuine.
class UnixSecondsWindow {
 public:
  UnixSecondsWindow(std::string header, const Options& options)
      : header_(std::move(header)),
        tolerance_(options.timestamp_tolerance),
        future_skew_(options.future_skew) {}

  // Why `value` (nullopt: the timestamp is missing) cannot be used at all.
  std::optional<Refusal> unreadable(std::optional<std::string_view> value) const {
    if (!value) return Refusal{ErrorKind::missing_timestamp, header_ + " is missing"};
    if (!parse_decimal(*value)) {
      return Refusal{ErrorKind::malformed_timestamp, header_ + " is not 1 to 19 digits"};
    }
    return std::nullopt;
  }

  // Why a readable `value` lies outside [now - timestamp_tolerance, now + future_skew].
  std::optional<Refusal> outside(std::string_view value,
                                 std::chrono::system_clock::time_point now) const {
    const auto seconds = parse_decimal(value).value_or(0);
    const auto kind = check_timestamp_window(timestamp_to_millis(seconds, TimestampUnit::seconds),
                                             now, tolerance_, future_skew_);
    if (!kind) return std::nullopt;
    if (*kind == ErrorKind::stale_timestamp) {
      return Refusal{*kind, header_ + " is older than timestamp_tolerance"};
    }
    return Refusal{*kind, header_ + " is further in the future than future_skew"};
  }

 private:
  std::string header_;
  std::chrono::milliseconds tolerance_;
  std::chrono::milliseconds future_skew_;
};

}  // namespace allthings::webhooks::detail
