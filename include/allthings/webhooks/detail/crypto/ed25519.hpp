#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string_view>

#include <openssl/err.h>
#include <openssl/evp.h>

// Ed25519 (RFC 8032) through OpenSSL's EVP API, for Standard Webhooks' v1a signatures.
namespace allthings::webhooks::detail {

using Ed25519PublicKeyBytes = std::array<unsigned char, 32>;
using Ed25519Seed = std::array<unsigned char, 32>;
using Ed25519Signature = std::array<unsigned char, 64>;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct MdContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdContext = std::unique_ptr<EVP_MD_CTX, MdContextDeleter>;

inline MdContext new_md_context() {
  MdContext ctx(EVP_MD_CTX_new());
  if (!ctx) throw std::runtime_error("OpenSSL could not allocate a digest context");
  return ctx;
}

// A public key, prepared once. verify() never modifies it, so threads may share it.
class Ed25519PublicKey {
 public:
  explicit Ed25519PublicKey(const Ed25519PublicKeyBytes& key)
      : key_(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size())) {
    if (!key_) throw std::runtime_error("OpenSSL could not load an Ed25519 public key");
  }

  // True when `signature` is this key's signature of `message`.
  bool verify(std::string_view message, const Ed25519Signature& signature) const {
    const MdContext ctx = new_md_context();
    const bool valid =
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                         reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) == 1;
    // A forged signature leaves a reason on this thread's OpenSSL error queue: not ours to keep.
    if (!valid) ERR_clear_error();
    return valid;
  }

 private:
  Pkey key_;
};

// A signing key from its 32-byte seed (RFC 8032's private key); for signing test deliveries.
class Ed25519SecretKey {
 public:
  explicit Ed25519SecretKey(const Ed25519Seed& seed)
      : key_(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size())) {
    if (!key_) throw std::runtime_error("OpenSSL could not load an Ed25519 private key");
  }

  Ed25519PublicKeyBytes public_key() const {
    Ed25519PublicKeyBytes out{};
    std::size_t size = out.size();
    if (EVP_PKEY_get_raw_public_key(key_.get(), out.data(), &size) != 1 || size != out.size()) {
      throw std::runtime_error("OpenSSL could not derive an Ed25519 public key");
    }
    return out;
  }

  Ed25519Signature sign(std::string_view message) const {
    const MdContext ctx = new_md_context();
    Ed25519Signature out{};
    std::size_t size = out.size();
    if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), out.data(), &size,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1 ||
        size != out.size()) {
      throw std::runtime_error("OpenSSL failed to compute an Ed25519 signature");
    }
    return out;
  }

 private:
  Pkey key_;
};

}  // namespace allthings::webhooks::detail
