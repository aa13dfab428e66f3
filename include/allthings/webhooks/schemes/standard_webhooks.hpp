#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/crypto.h>

#include "../detail/core/timestamp.hpp"
#include "../detail/crypto/ed25519.hpp"
#include "../detail/crypto/hmac_keys.hpp"
#include "../detail/crypto/sha256.hpp"
#include "../detail/text/base64.hpp"
#include "../error.hpp"
#include "../event.hpp"
#include "../options.hpp"
#include "../scheme.hpp"

namespace allthings::webhooks::schemes {

// Standard Webhooks (standardwebhooks.com; spec/standard-webhooks.md), as Svix and the senders
// that adopted the spec sign:
// - webhook-signature: space-separated "<version>,<base64>" entries. "v1" is the HMAC-SHA256
//   and "v1a" the Ed25519 signature of "<webhook-id>.<webhook-timestamp>.<raw body>"; any v1
//   entry matching any whsec_ secret, or any v1a entry matching any whpk_ key, verifies.
//   Entries of other versions are ignored; every entry is compared with every key.
// - Options::secrets: "whsec_<base64>" (or the bare base64) for v1, the key being the decoded
//   bytes; "whpk_<base64 of 32 bytes>", an Ed25519 public key, for v1a. A "whsk_" signing key
//   is refused: the receiver needs only its public key.
// - webhook-timestamp: Unix seconds within [now - timestamp_tolerance, now + future_skew]. The
//   spec's libraries accept 5 minutes either way.
// - Id: webhook-id. Name: the body's "type"; data(): "data"; created(): "timestamp" (the spec's
//   payload shape; other pointers can be given to the constructor). JSON bodies only.
class StandardWebhooksScheme final : public Scheme {
 public:
  static constexpr std::string_view id_header = "webhook-id";
  static constexpr std::string_view timestamp_header = "webhook-timestamp";
  static constexpr std::string_view signature_header = "webhook-signature";
  // More entries than this are refused unread: a sender sends one per active key.
  static constexpr std::size_t max_signatures = 16;

  // The spec's payload: {"type": ..., "timestamp": ..., "data": {...}}.
  static EnvelopePaths spec_payload() {
    EnvelopePaths body;
    body.id = "";  // webhook-id
    body.name = "/type";
    body.data = "/data";
    body.urn = "";
    body.created_date = "/timestamp";
    return body;
  }

  // Throws std::invalid_argument naming the secret that cannot be used (see above).
  explicit StandardWebhooksScheme(const Options& options, EnvelopePaths body = spec_payload())
      : window_(std::string(timestamp_header), options) {
    if (options.secrets.empty()) {
      throw std::invalid_argument("Options.secrets must hold at least one secret");
    }
    for (std::size_t i = 0; i < options.secrets.size(); ++i) add_key(i, options.secrets[i]);
    format_.envelope = std::move(body);
  }

  std::string_view name() const override { return "standard-webhooks"; }

  bool is_signed(const HeaderList& headers) const override {
    return find_header(headers, signature_header).has_value();
  }

  std::optional<Refusal> verify(const HeaderList& headers, std::string_view body,
                                std::chrono::system_clock::time_point now) const override {
    std::vector<detail::Sha256Digest> hmacs;
    std::vector<detail::Ed25519Signature> ed25519s;
    std::size_t entries = 0;
    auto rest = find_header(headers, signature_header).value_or(std::string_view());
    while (!rest.empty()) {
      const auto blank = rest.find(' ');
      const auto entry = rest.substr(0, blank);
      rest = blank == std::string_view::npos ? std::string_view() : rest.substr(blank + 1);
      if (entry.empty()) continue;
      if (++entries > max_signatures) {
        return Refusal{ErrorKind::malformed_signature, "webhook-signature has too many entries"};
      }
      const auto comma = entry.find(',');
      const auto version = entry.substr(0, comma);
      const auto value =
          comma == std::string_view::npos ? std::string_view() : entry.substr(comma + 1);
      if (version == "v1") {
        if (auto digest = detail::decode_base64_exactly<32>(value)) hmacs.push_back(*digest);
      } else if (version == "v1a") {
        if (auto signature = detail::decode_base64_exactly<64>(value)) {
          ed25519s.push_back(*signature);
        }
      }
    }
    if (hmacs.empty() && ed25519s.empty()) {
      return Refusal{ErrorKind::malformed_signature,
                     "webhook-signature has no v1 or v1a entry of the right length in base64"};
    }
    const auto id = find_header(headers, id_header);
    if (!id || id->empty()) {
      return Refusal{ErrorKind::malformed_signature, "webhook-id, which is signed, is missing"};
    }
    const auto timestamp = find_header(headers, timestamp_header);
    if (auto refusal = window_.unreadable(timestamp)) return refusal;

    const auto content = signed_content(*id, *timestamp, body);
    bool matched = detail::any_hmac_matches(hmac_keys_, content, hmacs);
    for (const auto& key : public_keys_) {
      for (const auto& signature : ed25519s) matched |= key.verify(content, signature);
    }
    if (!matched) {
      return Refusal{ErrorKind::signature_mismatch,
                     "no signature matches any of the configured secrets or keys"};
    }
    return window_.outside(*timestamp, now);
  }

  const BodyFormat& body_format() const override { return format_; }

  std::string event_id(const HeaderList& headers) const override {
    return std::string(find_header(headers, id_header).value_or(""));
  }

  // A delivery of `body` with a webhook-id made from the body's hash; see sign_message().
  HeaderList sign(std::string_view body, std::string_view secret,
                  std::chrono::system_clock::time_point at) const override {
    return sign_message("msg_" + detail::to_hex(detail::sha256(body)).substr(0, 26), body, secret,
                        at);
  }

  // The headers of message `id` as a sender signs it at `at`: a v1 entry with a whsec_ secret
  // (or bare base64), a v1a entry with a whsk_ signing key. Throws std::invalid_argument when
  // `secret` is neither.
  static HeaderList sign_message(std::string_view id, std::string_view body,
                                 std::string_view secret,
                                 std::chrono::system_clock::time_point at) {
    const auto timestamp = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count());
    const auto content = signed_content(id, timestamp, body);
    std::string entry;
    if (starts_with(secret, signing_key_prefix)) {
      const auto key = signing_key(secret);
      if (!key)
        throw std::invalid_argument("the whsk_ signing key is not whsk_ and 64 bytes in base64");
      const auto signature = key->sign(content);
      entry = "v1a," + detail::encode_base64(signature.data(), signature.size());
    } else {
      auto bytes = hmac_key_bytes(secret);
      if (!bytes) throw std::invalid_argument("the secret is not whsec_ and base64");
      const detail::HmacSha256Key key(*bytes);
      OPENSSL_cleanse(bytes->data(), bytes->size());
      const auto digest = key.compute(content);
      entry = "v1," + detail::encode_base64(digest.data(), digest.size());
    }
    return {{std::string(id_header), std::string(id)},
            {std::string(timestamp_header), timestamp},
            {std::string(signature_header), entry}};
  }

 private:
  static constexpr std::string_view secret_prefix = "whsec_";
  static constexpr std::string_view public_key_prefix = "whpk_";
  static constexpr std::string_view signing_key_prefix = "whsk_";

  static bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
  }

  static std::string signed_content(std::string_view id, std::string_view timestamp,
                                    std::string_view body) {
    std::string content;
    content.reserve(id.size() + timestamp.size() + body.size() + 2);
    content.append(id).append(".").append(timestamp).append(".").append(body);
    return content;
  }

  // The key bytes of "whsec_<base64>" or bare base64; nullopt when there are none.
  static std::optional<std::string> hmac_key_bytes(std::string_view secret) {
    if (starts_with(secret, secret_prefix)) secret.remove_prefix(secret_prefix.size());
    auto bytes = detail::decode_base64(secret);
    if (!bytes || bytes->empty()) return std::nullopt;
    return bytes;
  }

  // "whsk_<base64 of the 32-byte seed and the 32-byte public key>", checked for agreement.
  static std::optional<detail::Ed25519SecretKey> signing_key(std::string_view secret) {
    auto bytes = detail::decode_base64_exactly<64>(secret.substr(signing_key_prefix.size()));
    if (!bytes) return std::nullopt;
    detail::Ed25519Seed seed{};
    std::copy(bytes->begin(), bytes->begin() + 32, seed.begin());
    std::optional<detail::Ed25519SecretKey> key(std::in_place, seed);
    OPENSSL_cleanse(seed.data(), seed.size());
    const bool agrees = std::equal(bytes->begin() + 32, bytes->end(), key->public_key().begin());
    OPENSSL_cleanse(bytes->data(), bytes->size());
    if (!agrees) return std::nullopt;
    return key;
  }

  void add_key(std::size_t index, std::string_view secret) {
    const auto field = detail::secret_field(index);
    if (secret.empty()) throw std::invalid_argument(field + " is empty");
    if (starts_with(secret, public_key_prefix)) {
      const auto key = detail::decode_base64_exactly<32>(secret.substr(public_key_prefix.size()));
      if (!key) {
        throw std::invalid_argument(field + " is not whpk_ and a 32-byte key in base64");
      }
      public_keys_.emplace_back(*key);
      return;
    }
    if (starts_with(secret, signing_key_prefix)) {
      throw std::invalid_argument(field +
                                  " is a whsk_ signing key: a receiver needs only the whpk_ key");
    }
    if (secret == secret_prefix) throw std::invalid_argument(field + " is only the whsec_ prefix");
    auto bytes = hmac_key_bytes(secret);
    if (!bytes) throw std::invalid_argument(field + " is not whsec_ and base64");
    hmac_keys_.emplace_back(*bytes);
    OPENSSL_cleanse(bytes->data(), bytes->size());
  }

  std::vector<detail::HmacSha256Key> hmac_keys_;
  std::vector<detail::Ed25519PublicKey> public_keys_;
  detail::UnixSecondsWindow window_;
  BodyFormat format_;
};

inline std::shared_ptr<const Scheme> standard_webhooks(const Options& options) {
  return std::make_shared<StandardWebhooksScheme>(options);
}

}  // namespace allthings::webhooks::schemes
