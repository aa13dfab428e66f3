#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/crypto/hmac_keys.hpp"
#include "../detail/crypto/sha256.hpp"
#include "../detail/text/hex.hpp"
#include "../error.hpp"
#include "../event.hpp"
#include "../options.hpp"
#include "../scheme.hpp"

namespace allthings::webhooks::schemes {

// GitHub's webhooks (docs.github.com, "Validating webhook deliveries"):
// - X-Hub-Signature-256: "sha256=" and the HMAC-SHA256 of the raw body in 64 hex digits (GitHub
//   writes lower case; either case is accepted), keyed with the secret's bytes; any of
//   Options::secrets may match. The SHA-1 X-Hub-Signature is ignored.
// - No timestamp: GitHub does not retry by itself, and a replayed or redelivered delivery
//   (a redelivery keeps its id) is stopped by the dedupe on X-GitHub-Delivery.
// - Id: X-GitHub-Delivery. Name: X-GitHub-Event, plus "." and the body's "action" when it has
//   one ("issues.opened", "push"). data(): the whole body.
// - JSON bodies only: give the webhook the content type application/json on GitHub.
class GitHubScheme final : public Scheme {
 public:
  static constexpr std::string_view signature_header = "X-Hub-Signature-256";
  static constexpr std::string_view delivery_header = "X-GitHub-Delivery";
  static constexpr std::string_view event_header = "X-GitHub-Event";

  // Throws std::invalid_argument naming the secret that is empty or a bare "whsec_".
  explicit GitHubScheme(const Options& options) : keys_(detail::hmac_keys_of(options.secrets)) {
    EnvelopePaths body;
    body.id = "";  // X-GitHub-Delivery
    body.name = "/action";
    body.data = "";  // the whole body
    body.urn = "";
    body.created_date = "";
    format_.envelope = body;
  }

  std::string_view name() const override { return "github"; }

  bool is_signed(const HeaderList& headers) const override {
    return find_header(headers, signature_header).has_value();
  }

  std::optional<Refusal> verify(const HeaderList& headers, std::string_view body,
                                std::chrono::system_clock::time_point /*now*/) const override {
    const auto value = find_header(headers, signature_header).value_or(std::string_view());
    constexpr std::string_view prefix = "sha256=";
    const auto expected = value.substr(0, prefix.size()) == prefix
                              ? detail::decode_hex<32>(value.substr(prefix.size()))
                              : std::nullopt;
    if (!expected) {
      return Refusal{ErrorKind::malformed_signature,
                     "X-Hub-Signature-256 is not sha256= and 64 hex digits"};
    }
    if (!detail::any_hmac_matches(keys_, body, std::array<detail::Sha256Digest, 1>{*expected})) {
      return Refusal{ErrorKind::signature_mismatch,
                     "signature matches none of the configured secrets"};
    }
    return std::nullopt;
  }

  const BodyFormat& body_format() const override { return format_; }

  EventIdentity identify(const HeaderList& headers, std::string_view /*body*/,
                         std::optional<EventIdentity> from_json) const override {
    EventIdentity identity;
    identity.id = std::string(find_header(headers, delivery_header).value_or(""));
    identity.name = std::string(find_header(headers, event_header).value_or(""));
    const std::string action = from_json ? from_json->name : std::string();
    if (!identity.name.empty() && !action.empty()) identity.name += "." + action;
    return identity;
  }

  // X-Hub-Signature-256 and an X-GitHub-Delivery id made from the body's hash. X-GitHub-Event
  // is the caller's to add. `at` is unused: GitHub sends no timestamp.
  HeaderList sign(std::string_view body, std::string_view secret,
                  std::chrono::system_clock::time_point /*at*/) const override {
    const auto digest = detail::HmacSha256Key(secret).compute(body);
    return {{std::string(signature_header), "sha256=" + detail::to_hex(digest)},
            {std::string(delivery_header), detail::uuid_shaped_id(body)}};
  }

 private:
  std::vector<detail::HmacSha256Key> keys_;
  BodyFormat format_;
};

inline std::shared_ptr<const Scheme> github(const Options& options) {
  return std::make_shared<GitHubScheme>(options);
}

}  // namespace allthings::webhooks::schemes
