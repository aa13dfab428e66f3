#pragma once

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "../text/hex.hpp"

namespace allthings::webhooks::detail {

using Sha256Digest = std::array<unsigned char, 32>;

// Fetched once: an implicit fetch per use would look the algorithm up again each time.
inline const EVP_MD* sha256_algorithm() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL offers no SHA-256 implementation");
  return md;
}

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

inline DigestContext new_sha256_context() {
  DigestContext ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), sha256_algorithm(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL could not start a SHA-256 context");
  }
  return ctx;
}

// A context per thread, reused: EVP_Digest would allocate and free one on every call.
inline Sha256Digest sha256(std::string_view data) {
  thread_local const DigestContext ctx = new_sha256_context();
  Sha256Digest out{};
  unsigned int written = 0;
  if (EVP_DigestInit_ex2(ctx.get(), sha256_algorithm(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &written) != 1 || written != out.size()) {
    throw std::runtime_error("OpenSSL failed to compute SHA-256");
  }
  return out;
}

inline std::string to_hex(const Sha256Digest& digest) {
  return encode_hex(digest.data(), digest.size());
}

// A UUID-shaped id (8-4-4-4-12 hex digits) made from the SHA-256 of `data`: the same data
// always gets the same id. For test deliveries of senders whose ids are GUIDs.
inline std::string uuid_shaped_id(std::string_view data) {
  const auto hex = to_hex(sha256(data));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace allthings::webhooks::detail
