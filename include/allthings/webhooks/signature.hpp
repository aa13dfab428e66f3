#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detail/crypto/hmac_sha256.hpp"
#include "error.hpp"
#include "options.hpp"

namespace allthings::webhooks {

// The value of x-allthings-signature-timestamp: 1 to 19 ASCII digits, nothing else (no sign,
// no blanks). nullopt for anything else.
inline std::optional<std::uint64_t> parse_timestamp(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');  // 19 digits fit in 64 bits
  }
  return value;
}

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

// Verifies x-allthings-signature (hex HMAC-SHA256 of the signed content) against every
// configured secret in constant time, then the timestamp window. Knows nothing of HTTP.
class SignatureVerifier {
 public:
  explicit SignatureVerifier(const Options& options)
      : unit_(options.timestamp_unit),
        tolerance_(options.timestamp_tolerance),
        future_skew_(options.future_skew),
        require_timestamp_(options.require_timestamp),
        signed_content_(options.signed_content),
        clock_(options.clock) {
    keys_.reserve(options.secrets.size());
    for (const auto& secret : options.secrets) keys_.emplace_back(secret);
  }

  // nullopt when the request is authentic and fresh; otherwise why not.
  std::optional<ErrorKind> verify(std::string_view signature,
                                  std::optional<std::string_view> timestamp,
                                  std::string_view body) const {
    const auto expected = detail::decode_hex<32>(signature);
    if (!expected) return ErrorKind::malformed_signature;

    std::optional<std::uint64_t> timestamp_value;
    if (timestamp) {
      timestamp_value = parse_timestamp(*timestamp);
      if (!timestamp_value) return ErrorKind::malformed_timestamp;
    } else if (require_timestamp_) {
      return ErrorKind::missing_timestamp;
    }

    if (!matches_any_secret(*expected, timestamp.value_or(std::string_view{}), body)) {
      return ErrorKind::signature_mismatch;
    }

    if (timestamp_value) {
      return check_timestamp_window(timestamp_to_millis(*timestamp_value, unit_), clock_(),
                                    tolerance_, future_skew_);
    }
    return std::nullopt;
  }

 private:
  bool matches_any_secret(const detail::Sha256Digest& expected, std::string_view timestamp,
                          std::string_view body) const {
    std::string custom_content;
    std::string_view content = body;
    if (signed_content_) {
      custom_content = signed_content_(timestamp, body);
      content = custom_content;
    }
    // Every key is tried, so the time taken does not tell which secret matched.
    bool matched = false;
    for (const auto& key : keys_) {
      matched |= detail::constant_time_equal(key.compute(content), expected);
    }
    return matched;
  }

  std::vector<detail::HmacSha256Key> keys_;
  TimestampUnit unit_;
  std::chrono::milliseconds tolerance_;
  std::chrono::milliseconds future_skew_;
  bool require_timestamp_;
  std::function<std::string(std::string_view, std::string_view)> signed_content_;
  Clock clock_;
};

}  // namespace allthings::webhooks
