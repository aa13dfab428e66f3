#pragma once

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hex.hpp"

namespace allthings::webhooks::detail {

using Sha256Digest = std::array<unsigned char, 32>;

// One HMAC-SHA256 key, prepared once. OpenSSL 3 makes fetching the algorithm and setting the
// key the expensive part, so compute() only duplicates the keyed context. Safe to share
// between threads: compute() never modifies the prepared context.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key) {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) throw std::runtime_error("OpenSSL offers no HMAC implementation");
    keyed_.reset(EVP_MAC_CTX_new(mac));
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end()};
    // An empty key still needs a valid pointer.
    static const unsigned char empty = 0;
    const auto* key_bytes =
        key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
    if (!keyed_ || EVP_MAC_init(keyed_.get(), key_bytes, key.size(), params) != 1) {
      throw std::runtime_error("OpenSSL could not prepare an HMAC-SHA256 key");
    }
  }

  Sha256Digest compute(std::string_view message) const {
    ContextPtr ctx(EVP_MAC_CTX_dup(keyed_.get()));
    Sha256Digest out{};
    std::size_t written = 0;
    if (!ctx ||
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1 ||
        EVP_MAC_final(ctx.get(), out.data(), &written, out.size()) != 1 ||
        written != out.size()) {
      throw std::runtime_error("OpenSSL failed to compute HMAC-SHA256");
    }
    return out;
  }

 private:
  struct ContextDeleter {
    void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
  };
  using ContextPtr = std::unique_ptr<EVP_MAC_CTX, ContextDeleter>;
  ContextPtr keyed_;
};

inline bool constant_time_equal(const Sha256Digest& a, const Sha256Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

inline Sha256Digest sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int written = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &written, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL failed to compute SHA-256");
  }
  return out;
}

inline std::string to_hex(const Sha256Digest& digest) {
  return encode_hex(digest.data(), digest.size());
}

}  // namespace allthings::webhooks::detail
