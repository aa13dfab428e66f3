#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <httplib.h>

#include "../../options.hpp"

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#endif

// HTTPS for the server WebhookEndpoint builds: an httplib::SSLServer whose OpenSSL context we
// set up ourselves, through the constructor that takes a setup callback (present from
// cpp-httplib 0.11 to 0.53), so that TLS 1.2 is the minimum on every version: 0.11 leaves it
// to OpenSSL's defaults.
namespace allthings::webhooks::detail {

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
inline constexpr bool tls_supported = true;

// The newest OpenSSL error as "library:reason" text (never key material). Clears the thread's
// error queue, which would otherwise confuse a later SSL_get_error() on this thread.
inline std::string take_openssl_error() {
  const unsigned long code = ERR_peek_last_error();
  std::string text = "unknown reason";
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    const char* library = ERR_lib_error_string(code);
    text = std::string(library ? library : "OpenSSL") + ": " + (reason ? reason : "error");
  }
  ERR_clear_error();
  return text;
}

// An encrypted key must fail to load, not make OpenSSL prompt on the terminal.
inline int no_passphrase(char*, int, int, void*) { return 0; }

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

inline Bio memory_bio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificate, then any intermediates after it, as certificate_file would load them.
inline bool use_certificate_chain_pem(SSL_CTX* ctx, const std::string& pem) {
  Bio bio = memory_bio(pem);
  if (!bio) return false;
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr);
  if (leaf == nullptr) return false;
  const bool used = SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  if (!used || SSL_CTX_clear_chain_certs(ctx) != 1) return false;
  while (X509* intermediate = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, intermediate) != 1) {
      X509_free(intermediate);
      return false;
    }
  }
  ERR_clear_error();  // the end of the PEM text reads as an error
  return true;
}

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PrivateKey = std::unique_ptr<EVP_PKEY, KeyFree>;

inline PrivateKey read_private_key(const TlsOptions& tls) {
  Bio bio = tls.private_key_file.empty() ? memory_bio(tls.private_key_pem)
                                         : Bio(BIO_new_file(tls.private_key_file.c_str(), "r"));
  if (!bio) return nullptr;
  return PrivateKey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
}

// Sets up a server context: TLS 1.2 at least, no compression or renegotiation, the
// certificate chain and its key. Returns why it failed, or nothing.
inline std::string configure_tls_context(SSL_CTX* ctx, const TlsOptions& tls) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return "cannot make TLS 1.2 the minimum (" + take_openssl_error() + ")";
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  const bool certificate =
      tls.certificate_file.empty()
          ? use_certificate_chain_pem(ctx, tls.certificate_pem)
          : SSL_CTX_use_certificate_chain_file(ctx, tls.certificate_file.c_str()) == 1;
  if (!certificate) {
    return (tls.certificate_file.empty()
                ? std::string("cannot use certificate_pem")
                : "cannot use certificate_file '" + tls.certificate_file + "'") +
           " (" + take_openssl_error() + ")";
  }
  const PrivateKey key = read_private_key(tls);
  if (!key) {
    return (tls.private_key_file.empty()
                ? std::string("cannot read private_key_pem")
                : "cannot read private_key_file '" + tls.private_key_file + "'") +
           " (" + take_openssl_error() + "); keys protected by a passphrase are not supported";
  }
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key.get()) != 1) {
    ERR_clear_error();
    return "the private key does not belong to the certificate";
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    return "cannot use the private key (" + take_openssl_error() + ")";
  }
  return {};
}

// cpp-httplib 0.11 hands the setup callback an SSL_CTX&, 0.53 an opaque pointer to it.
inline SSL_CTX* as_ssl_ctx(SSL_CTX& ctx) { return &ctx; }
inline SSL_CTX* as_ssl_ctx(void* ctx) { return static_cast<SSL_CTX*>(ctx); }

// Throws std::runtime_error naming what failed.
inline std::unique_ptr<httplib::Server> make_tls_server(const TlsOptions& tls) {
  std::string failure;
  auto server = std::make_unique<httplib::SSLServer>([&](auto&& ctx) -> bool {
    failure = configure_tls_context(as_ssl_ctx(ctx), tls);
    return failure.empty();
  });
  if (!server->is_valid()) {
    throw std::runtime_error("WebhookEndpoint: TLS: " +
                             (failure.empty() ? "cannot create a TLS context" : failure));
  }
  return server;
}

// Loads the certificate and key into a scratch context, so that a bad file or PEM shows at
// construction. Returns why it failed, or nothing.
inline std::string check_tls(const TlsOptions& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return "cannot create a TLS context (" + take_openssl_error() + ")";
  std::string failure = configure_tls_context(ctx, tls);
  SSL_CTX_free(ctx);
  return failure;
}
#else
inline constexpr bool tls_supported = false;

inline std::unique_ptr<httplib::Server> make_tls_server(const TlsOptions&) {
  throw std::runtime_error("WebhookEndpoint: TLS needs cpp-httplib built with OpenSSL");
}

inline std::string check_tls(const TlsOptions&) {
  return "needs cpp-httplib built with OpenSSL support (CPPHTTPLIB_OPENSSL_SUPPORT)";
}
#endif

// For WebhookEndpoint's constructor: invalid TLS options throw there, never later.
inline void validate_tls_files(const Options& options) {
  if (!options.tls.enabled()) return;
  const std::string failure = check_tls(options.tls);
  if (!failure.empty()) throw std::invalid_argument("Options.tls: " + failure);
}

}  // namespace allthings::webhooks::detail
