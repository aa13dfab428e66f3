#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/core/timestamp.hpp"
#include "../detail/crypto/hmac_keys.hpp"
#include "../detail/text/ascii.hpp"
#include "../detail/text/hex.hpp"
#include "../error.hpp"
#include "../event.hpp"
#include "../options.hpp"
#include "../scheme.hpp"

namespace allthings::webhooks::schemes {

// Stripe's webhooks (docs.stripe.com, "Verify webhook signatures"):
// - Stripe-Signature: "t=<Unix seconds>,v1=<hex>[,v1=<hex>...]", other entries (v0=) ignored.
//   Exactly one t; any v1 (64 hex digits, either case) that is the HMAC-SHA256 of
//   "<t>.<raw body>", keyed with the endpoint secret's bytes ("whsec_..." as it is, not
//   decoded), verifies; every v1 is compared with every secret.
// - t within [now - timestamp_tolerance, now + future_skew]. Stripe's libraries default to a
//   300 s tolerance and do not limit the future; the receiver's defaults are 5 min and 1 min.
// - Id and name: the body's "id" ("evt_...") and "type" ("invoice.paid"). data(): the body's
//   "data" ({"object": ..., "previous_attributes": ...}). JSON bodies only.
class StripeScheme final : public Scheme {
 public:
  static constexpr std::string_view signature_header = "Stripe-Signature";
  // More v1 entries than this are refused unread: Stripe sends one per active secret.
  static constexpr std::size_t max_signatures = 16;

  // Throws std::invalid_argument naming the secret that is empty or a bare "whsec_".
  explicit StripeScheme(const Options& options)
      : keys_(detail::hmac_keys_of(options.secrets)),
        window_(std::string(signature_header) + " t", options) {
    EnvelopePaths body;
    body.id = "/id";
    body.name = "/type";
    body.data = "/data";
    body.urn = "";
    body.created_date = "";  // "created" is a number of seconds, not a date text
    format_.envelope = body;
  }

  std::string_view name() const override { return "stripe"; }

  bool is_signed(const HeaderList& headers) const override {
    return find_header(headers, signature_header).has_value();
  }

  std::optional<Refusal> verify(const HeaderList& headers, std::string_view body,
                                std::chrono::system_clock::time_point now) const override {
    std::optional<std::string_view> timestamp;
    std::vector<detail::Sha256Digest> signatures;
    std::size_t v1_entries = 0;
    bool repeated_timestamp = false;
    auto rest = find_header(headers, signature_header).value_or(std::string_view());
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto entry = detail::trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (entry.substr(0, 2) == "t=") {
        repeated_timestamp = repeated_timestamp || timestamp.has_value();
        timestamp = entry.substr(2);
      } else if (entry.substr(0, 3) == "v1=") {
        if (++v1_entries > max_signatures) {
          return Refusal{ErrorKind::malformed_signature,
                         "Stripe-Signature has too many v1 entries"};
        }
        if (auto digest = detail::decode_hex<32>(entry.substr(3))) signatures.push_back(*digest);
      }
    }
    if (signatures.empty()) {
      return Refusal{ErrorKind::malformed_signature,
                     "Stripe-Signature has no v1 entry of 64 hex digits"};
    }
    if (repeated_timestamp) {
      return Refusal{ErrorKind::malformed_timestamp, "Stripe-Signature has more than one t"};
    }
    if (auto refusal = window_.unreadable(timestamp)) return refusal;
    std::string content;
    content.reserve(timestamp->size() + 1 + body.size());
    content.append(*timestamp).append(".").append(body);
    if (!detail::any_hmac_matches(keys_, content, signatures)) {
      return Refusal{ErrorKind::signature_mismatch,
                     "no v1 signature matches any of the configured secrets"};
    }
    return window_.outside(*timestamp, now);
  }

  const BodyFormat& body_format() const override { return format_; }

  // As Stripe's libraries' generateTestHeaderString: "t=<at in seconds>,v1=<hex>".
  HeaderList sign(std::string_view body, std::string_view secret,
                  std::chrono::system_clock::time_point at) const override {
    const auto timestamp = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count());
    std::string content = timestamp + ".";
    content.append(body);
    const auto digest = detail::HmacSha256Key(secret).compute(content);
    return {{std::string(signature_header), "t=" + timestamp + ",v1=" + detail::to_hex(digest)}};
  }

 private:
  std::vector<detail::HmacSha256Key> keys_;
  detail::UnixSecondsWindow window_;
  BodyFormat format_;
};

inline std::shared_ptr<const Scheme> stripe(const Options& options) {
  return std::make_shared<StripeScheme>(options);
}

}  // namespace allthings::webhooks::schemes
