#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sha256.hpp"

namespace allthings::webhooks::detail {

// One HMAC-SHA256 key, prepared once: the SHA-256 states after the key's inner and outer pad
// blocks (RFC 2104), so compute() only copies a state and hashes the message. OpenSSL's
// EVP_MAC would duplicate a whole keyed MAC context per call instead, about a dozen heap
// allocations on every request. Safe to share between threads: compute() never modifies
// the prepared states.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key)
      : inner_(new_sha256_context()), outer_(new_sha256_context()) {
    std::array<unsigned char, block_size> block{};  // K0: the key, hashed if longer, zero-padded
    if (key.size() > block_size) {
      auto hashed = sha256(key);
      std::copy(hashed.begin(), hashed.end(), block.begin());
      OPENSSL_cleanse(hashed.data(), hashed.size());
    } else {
      std::copy(key.begin(), key.end(), block.begin());
    }
    const bool ok = absorb_padded(*inner_, block, 0x36) && absorb_padded(*outer_, block, 0x5c);
    OPENSSL_cleanse(block.data(), block.size());
    if (!ok) throw std::runtime_error("OpenSSL could not prepare an HMAC-SHA256 key");
  }

  Sha256Digest compute(std::string_view message) const {
    EVP_MD_CTX* work = scratch();
    Sha256Digest inner{}, out{};
    const bool ok = finish(work, *inner_, message, inner) &&
                    finish(work, *outer_, std::string_view(reinterpret_cast<const char*>(inner.data()),
                                                          inner.size()),
                           out);
    OPENSSL_cleanse(inner.data(), inner.size());
    if (!ok) throw std::runtime_error("OpenSSL failed to compute HMAC-SHA256");
    return out;
  }

 private:
  static constexpr std::size_t block_size = 64;  // SHA-256's

  // A context per thread to compute in, so a call allocates only what copying a state does.
  static EVP_MD_CTX* scratch() {
    thread_local const DigestContext ctx = new_sha256_context();
    return ctx.get();
  }

  static bool absorb_padded(EVP_MD_CTX& ctx, const std::array<unsigned char, block_size>& key,
                            unsigned char pad) {
    std::array<unsigned char, block_size> padded{};
    for (std::size_t i = 0; i < block_size; ++i) padded[i] = key[i] ^ pad;
    const bool ok = EVP_DigestUpdate(&ctx, padded.data(), padded.size()) == 1;
    OPENSSL_cleanse(padded.data(), padded.size());
    return ok;
  }

  // work := state, then hashes `data` into `out`.
  static bool finish(EVP_MD_CTX* work, const EVP_MD_CTX& state, std::string_view data,
                     Sha256Digest& out) {
    unsigned int written = 0;
    return EVP_MD_CTX_copy_ex(work, &state) == 1 &&
           EVP_DigestUpdate(work, data.data(), data.size()) == 1 &&
           EVP_DigestFinal_ex(work, out.data(), &written) == 1 && written == out.size();
  }

  DigestContext inner_;  // SHA-256 state after (K0 ^ ipad)
  DigestContext outer_;  // SHA-256 state after (K0 ^ opad)
};

inline bool constant_time_equal(const Sha256Digest& a, const Sha256Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace allthings::webhooks::detail
