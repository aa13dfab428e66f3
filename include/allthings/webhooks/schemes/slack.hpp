#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/core/timestamp.hpp"
#include "../detail/crypto/hmac_keys.hpp"
#include "../detail/text/form.hpp"
#include "../detail/text/hex.hpp"
#include "../detail/text/json_scan.hpp"
#include "../error.hpp"
#include "../event.hpp"
#include "../options.hpp"
#include "../scheme.hpp"

namespace allthings::webhooks::schemes {

// Slack's requests (api.slack.com, "Verifying requests from Slack"): Events API deliveries
// (JSON), slash commands and interactions (form-encoded).
// - X-Slack-Signature: "v0=" and 64 hex digits (either case), the HMAC-SHA256 of
//   "v0:<X-Slack-Request-Timestamp>:<raw body>" keyed with the signing secret's bytes; any of
//   Options::secrets may match.
// - X-Slack-Request-Timestamp: Unix seconds within [now - timestamp_tolerance, now +
//   future_skew]. Slack's own libraries accept 5 minutes either way.
// - JSON bodies (Events API): id "event_id", name "event.type" ("app_mention"), data() "event".
// - application/x-www-form-urlencoded bodies: verified and delivered as received (raw_body(),
//   data() null). Name: the "command" field ("/deploy"), else the "type" of the JSON in the
//   "payload" field ("block_actions"); id: the "trigger_id" field or the payload's.
class SlackScheme final : public Scheme {
 public:
  static constexpr std::string_view signature_header = "X-Slack-Signature";
  static constexpr std::string_view timestamp_header = "X-Slack-Request-Timestamp";
  static constexpr std::string_view form_media_type = "application/x-www-form-urlencoded";

  // Throws std::invalid_argument naming the secret that is empty or a bare "whsec_".
  explicit SlackScheme(const Options& options)
      : keys_(detail::hmac_keys_of(options.secrets)),
        window_(std::string(timestamp_header), options) {
    EnvelopePaths body;
    body.id = "/event_id";
    body.name = "/event/type";
    body.data = "/event";
    body.urn = "";
    body.created_date = "";
    format_.envelope = body;
    format_.opaque_media_types = {std::string(form_media_type)};
  }

  std::string_view name() const override { return "slack"; }

  bool is_signed(const HeaderList& headers) const override {
    return find_header(headers, signature_header).has_value();
  }

  std::optional<Refusal> verify(const HeaderList& headers, std::string_view body,
                                std::chrono::system_clock::time_point now) const override {
    const auto value = find_header(headers, signature_header).value_or(std::string_view());
    const auto expected =
        value.substr(0, 3) == "v0=" ? detail::decode_hex<32>(value.substr(3)) : std::nullopt;
    if (!expected) {
      return Refusal{ErrorKind::malformed_signature,
                     "X-Slack-Signature is not v0= and 64 hex digits"};
    }
    const auto timestamp = find_header(headers, timestamp_header);
    if (auto refusal = window_.unreadable(timestamp)) return refusal;
    if (!detail::any_hmac_matches(keys_, content(*timestamp, body),
                                  std::array<detail::Sha256Digest, 1>{*expected})) {
      return Refusal{ErrorKind::signature_mismatch,
                     "signature matches none of the configured secrets"};
    }
    return window_.outside(*timestamp, now);
  }

  const BodyFormat& body_format() const override { return format_; }

  EventIdentity identify(const HeaderList& /*headers*/, std::string_view body,
                         std::optional<EventIdentity> from_json) const override {
    if (from_json) return std::move(*from_json);
    EventIdentity identity;
    identity.id = detail::form_field(body, "trigger_id").value_or("");
    identity.name = detail::form_field(body, "command").value_or("");
    if (!identity.name.empty()) return identity;
    // Read without building a tree (and without recursion, whatever the nesting).
    auto payload = payload_scanner_.scan(detail::form_field(body, "payload").value_or(""));
    if (payload.shape != detail::JsonShape::object) return identity;
    identity.name = std::move(payload.values[0]).value_or("");
    if (identity.id.empty()) identity.id = std::move(payload.values[1]).value_or("");
    return identity;
  }

  // X-Slack-Signature and X-Slack-Request-Timestamp (`at` in seconds), as Slack signs.
  HeaderList sign(std::string_view body, std::string_view secret,
                  std::chrono::system_clock::time_point at) const override {
    const auto timestamp = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count());
    const auto digest = detail::HmacSha256Key(secret).compute(content(timestamp, body));
    return {{std::string(signature_header), "v0=" + detail::to_hex(digest)},
            {std::string(timestamp_header), timestamp}};
  }

 private:
  static std::string content(std::string_view timestamp, std::string_view body) {
    std::string out = "v0:";
    out.reserve(4 + timestamp.size() + body.size());
    out.append(timestamp).append(":").append(body);
    return out;
  }

  std::vector<detail::HmacSha256Key> keys_;
  detail::UnixSecondsWindow window_;
  BodyFormat format_;
  // An interaction's "type" and "trigger_id" in its payload field.
  detail::PointerScanner<2> payload_scanner_{std::array<std::vector<std::string>, 2>{
      std::vector<std::string>{"type"}, std::vector<std::string>{"trigger_id"}}};
};

inline std::shared_ptr<const Scheme> slack(const Options& options) {
  return std::make_shared<SlackScheme>(options);
}

}  // namespace allthings::webhooks::schemes
