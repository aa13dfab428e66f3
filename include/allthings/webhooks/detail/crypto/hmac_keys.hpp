#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hmac_sha256.hpp"

// The HMAC keys of the presets that sign with shared secrets (GitHub, Stripe, Shopify, Slack,
// Standard Webhooks' v1), and the one way they compare signatures.
namespace allthings::webhooks::detail {

// "Options.secrets[2]", for messages that must name a secret without showing it.
inline std::string secret_field(std::size_t index) {
  return "Options.secrets[" + std::to_string(index) + "]";
}

// One key per secret, keyed with the secret's own bytes. Throws std::invalid_argument naming
// the field when there is no secret, or one is empty or only the "whsec_" prefix (its secret
// got lost on the way into the configuration).
inline std::vector<HmacSha256Key> hmac_keys_of(const std::vector<std::string>& secrets) {
  if (secrets.empty()) throw std::invalid_argument("Options.secrets must hold at least one secret");
  std::vector<HmacSha256Key> keys;
  keys.reserve(secrets.size());
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i].empty()) throw std::invalid_argument(secret_field(i) + " is empty");
    if (secrets[i] == "whsec_") {
      throw std::invalid_argument(secret_field(i) + " is only the whsec_ prefix");
    }
    keys.emplace_back(secrets[i]);
  }
  return keys;
}

// Whether the HMAC of `content` under any key equals any of `candidates`. Every key and every
// candidate is compared in constant time, so the time taken tells neither which secret nor
// which candidate matched.
template <class Digests>
bool any_hmac_matches(const std::vector<HmacSha256Key>& keys, std::string_view content,
                      const Digests& candidates) {
  bool matched = false;
  for (const auto& key : keys) {
    const auto digest = key.compute(content);
    for (const auto& candidate : candidates) matched |= constant_time_equal(digest, candidate);
  }
  return matched;
}

}  // namespace allthings::webhooks::detail
