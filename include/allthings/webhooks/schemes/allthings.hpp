#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/core/timestamp.hpp"
#include "../detail/crypto/hmac_sha256.hpp"
#include "../detail/text/ascii.hpp"
#include "../error.hpp"
#include "../options.hpp"
#include "../scheme.hpp"

namespace allthings::webhooks::schemes {

// Allthings' scheme, the default:
// - x-allthings-signature: the HMAC-SHA256 of the signed content, keyed with the secret's
//   bytes, as exactly 64 hex digits of either case; any of Options::secrets may match.
// - The signed content is the raw body, or Options::signed_content(timestamp, body).
// - x-allthings-signature-timestamp: 1 to 19 digits in Options::timestamp_unit, accepted within
//   [now - timestamp_tolerance, now + future_skew]; required unless require_timestamp is off.
// - The event's id and name come from the body (Options::envelope).
class AllthingsScheme final : public Scheme {
 public:
  static constexpr std::string_view signature_header = "x-allthings-signature";
  static constexpr std::string_view timestamp_header = "x-allthings-signature-timestamp";

  explicit AllthingsScheme(const Options& options)
      : unit_(options.timestamp_unit),
        tolerance_(options.timestamp_tolerance),
        future_skew_(options.future_skew),
        require_timestamp_(options.require_timestamp),
        signed_content_(options.signed_content) {
    keys_.reserve(options.secrets.size());
    for (const auto& secret : options.secrets) keys_.emplace_back(secret);
  }

  std::string_view name() const override { return "allthings"; }

  bool is_signed(const HeaderList& headers) const override {
    return find_header(headers, signature_header).has_value();
  }

  std::optional<Refusal> verify(const HeaderList& headers, std::string_view body,
                                std::chrono::system_clock::time_point now) const override {
    const auto signature = find_header(headers, signature_header).value_or(std::string_view());
    const auto expected = detail::decode_hex<32>(signature);
    if (!expected) {
      return Refusal{ErrorKind::malformed_signature, "x-allthings-signature is not 64 hex digits"};
    }

    const auto timestamp = find_header(headers, timestamp_header);
    std::optional<std::uint64_t> timestamp_value;
    if (timestamp) {
      timestamp_value = detail::parse_decimal(*timestamp);
      if (!timestamp_value) {
        return Refusal{ErrorKind::malformed_timestamp,
                       "x-allthings-signature-timestamp is not 1 to 19 digits"};
      }
    } else if (require_timestamp_) {
      return Refusal{ErrorKind::missing_timestamp, "x-allthings-signature-timestamp is missing"};
    }

    if (!matches_any_secret(*expected, timestamp.value_or(std::string_view()), body)) {
      return Refusal{ErrorKind::signature_mismatch,
                     "signature matches none of the configured secrets"};
    }
    if (!timestamp_value) return std::nullopt;
    const auto outside = detail::check_timestamp_window(
        detail::timestamp_to_millis(*timestamp_value, unit_), now, tolerance_, future_skew_);
    if (outside == ErrorKind::stale_timestamp) {
      return Refusal{*outside, "timestamp is older than the tolerance"};
    }
    if (outside) return Refusal{*outside, "timestamp is further in the future than future_skew"};
    return std::nullopt;
  }

  // Signs as Allthings does: the timestamp in milliseconds, the signature in lower-case hex.
  HeaderList sign(std::string_view body, std::string_view secret,
                  std::chrono::system_clock::time_point at) const override {
    const auto timestamp = std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
    const auto digest = detail::HmacSha256Key(secret).compute(content(timestamp, body));
    return {{std::string(signature_header), detail::to_hex(digest)},
            {std::string(timestamp_header), timestamp}};
  }

 private:
  std::string content(std::string_view timestamp, std::string_view body) const {
    return signed_content_ ? signed_content_(timestamp, body) : std::string(body);
  }

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
};

inline std::shared_ptr<const Scheme> allthings(const Options& options) {
  return std::make_shared<AllthingsScheme>(options);
}

}  // namespace allthings::webhooks::schemes
