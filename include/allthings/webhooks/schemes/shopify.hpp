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
#include "../detail/text/base64.hpp"
#include "../error.hpp"
#include "../event.hpp"
#include "../options.hpp"
#include "../scheme.hpp"

namespace allthings::webhooks::schemes {

// Shopify's webhooks (shopify.dev, "Verify webhooks"). Every header is read under its name with
// or without the "X-" prefix (newer deliveries drop it); the X- name wins when both are sent.
// - X-Shopify-Hmac-Sha256: the HMAC-SHA256 of the raw body in canonical base64 (44 characters),
//   keyed with the app's client secret's bytes; any of Options::secrets may match.
// - No timestamp is signed (X-Shopify-Triggered-At is not checked): replays are stopped by the
//   dedupe on the event id.
// - Id: X-Shopify-Event-Id (the same for every delivery of one event), else
//   X-Shopify-Webhook-Id. Name: X-Shopify-Topic ("orders/create"). data(): the whole body.
// - JSON bodies only.
class ShopifyScheme final : public Scheme {
 public:
  static constexpr std::string_view signature_header = "X-Shopify-Hmac-Sha256";
  static constexpr std::string_view topic_header = "X-Shopify-Topic";
  static constexpr std::string_view event_id_header = "X-Shopify-Event-Id";
  static constexpr std::string_view webhook_id_header = "X-Shopify-Webhook-Id";

  // Throws std::invalid_argument naming the secret that is empty or a bare "whsec_".
  explicit ShopifyScheme(const Options& options) : keys_(detail::hmac_keys_of(options.secrets)) {
    EnvelopePaths body;
    body.id = "";  // headers
    body.name = "";
    body.data = "";  // the whole body
    body.urn = "";
    body.created_date = "";
    format_.envelope = body;
  }

  std::string_view name() const override { return "shopify"; }

  bool is_signed(const HeaderList& headers) const override {
    return either_header(headers, signature_header).has_value();
  }

  std::optional<Refusal> verify(const HeaderList& headers, std::string_view body,
                                std::chrono::system_clock::time_point /*now*/) const override {
    const auto value = either_header(headers, signature_header).value_or(std::string_view());
    const auto expected = detail::decode_base64_exactly<32>(value);
    if (!expected) {
      return Refusal{ErrorKind::malformed_signature,
                     "X-Shopify-Hmac-Sha256 is not 32 bytes in base64"};
    }
    if (!detail::any_hmac_matches(keys_, body, std::array<detail::Sha256Digest, 1>{*expected})) {
      return Refusal{ErrorKind::signature_mismatch,
                     "signature matches none of the configured secrets"};
    }
    return std::nullopt;
  }

  const BodyFormat& body_format() const override { return format_; }

  std::string event_id(const HeaderList& headers) const override {
    auto id = either_header(headers, event_id_header);
    if (!id || id->empty()) id = either_header(headers, webhook_id_header);
    return std::string(id.value_or(""));
  }

  std::string event_name(const HeaderList& headers) const override {
    return std::string(either_header(headers, topic_header).value_or(""));
  }

  // X-Shopify-Hmac-Sha256 and event and webhook ids made from the body's hash. X-Shopify-Topic
  // is the caller's to add. `at` is unused: Shopify signs no timestamp.
  HeaderList sign(std::string_view body, std::string_view secret,
                  std::chrono::system_clock::time_point /*at*/) const override {
    const auto digest = detail::HmacSha256Key(secret).compute(body);
    const auto id = detail::uuid_shaped_id(body);
    return {{std::string(signature_header), detail::encode_base64(digest.data(), digest.size())},
            {std::string(event_id_header), id},
            {std::string(webhook_id_header), id}};
  }

 private:
  // The header `name` ("X-Shopify-...") or, when absent, the same name without "X-".
  static std::optional<std::string_view> either_header(const HeaderList& headers,
                                                       std::string_view name) {
    if (auto value = find_header(headers, name)) return value;
    return find_header(headers, name.substr(2));
  }

  std::vector<detail::HmacSha256Key> keys_;
  BodyFormat format_;
};

inline std::shared_ptr<const Scheme> shopify(const Options& options) {
  return std::make_shared<ShopifyScheme>(options);
}

}  // namespace allthings::webhooks::schemes
