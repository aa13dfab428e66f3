#pragma once

// Shared pieces of the scheme preset tests: the published vectors, options for a preset, a
// scheme's verdict on a request, and an HMAC computed by OpenSSL's own HMAC (not the library's
// prepared keys), so tests by construction do not check the library against itself.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "../support.hpp"

namespace test {

inline const nlohmann::json& scheme_vectors() {
  static const nlohmann::json vectors = [] {
    std::ifstream file(ALLTHINGS_WEBHOOKS_SCHEME_VECTORS);
    REQUIRE(file.good());
    return nlohmann::json::parse(file);
  }();
  return vectors;
}

// The instant `seconds` (Unix seconds, as the vectors give them) plus `offset`.
inline std::chrono::system_clock::time_point at_unix(const std::string& seconds,
                                                     std::chrono::seconds offset = {}) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(seconds))) + offset;
}

inline aw::Options preset_options(aw::SchemeFactory scheme, std::vector<std::string> secrets) {
  aw::Options o = options();
  o.scheme = std::move(scheme);
  o.secrets = std::move(secrets);
  return o;
}

// Nothing when `scheme` accepts the request at `now`, else the kind of its refusal.
inline std::optional<aw::ErrorKind> verdict(const aw::Scheme& scheme, const aw::HeaderList& headers,
                                            std::string_view body,
                                            std::chrono::system_clock::time_point now) {
  const auto refusal = scheme.verify(headers, body, now);
  if (!refusal) return std::nullopt;
  return refusal->kind;
}

// HMAC-SHA256 by OpenSSL's EVP_Q_mac, raw bytes.
inline std::string openssl_hmac(std::string_view key, std::string_view message) {
  unsigned char out[32];
  std::size_t written = 0;
  char digest[] = "SHA256";
  static const unsigned char empty = 0;
  const auto* key_bytes = key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key_bytes, key.size(),
                    reinterpret_cast<const unsigned char*>(message.data()), message.size(), out,
                    sizeof out, &written) != nullptr);
  return std::string(reinterpret_cast<const char*>(out), written);
}

inline std::string openssl_hmac_hex(std::string_view key, std::string_view message) {
  const auto mac = openssl_hmac(key, message);
  return aw::detail::encode_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

// Base64 by OpenSSL's EVP_EncodeBlock.
inline std::string openssl_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// A Receiver with a recorder on every event, its workers started.
struct PresetReceiver {
  explicit PresetReceiver(aw::Options o) : receiver(std::move(o)) {
    receiver.on_any([this](const aw::Event& e) { recorder.event(e); });
    receiver.on_error([this](const aw::Error& e) { recorder.error(e); });
    receiver.start();
  }
  aw::Reply post(aw::HeaderList headers, std::string body,
                 std::string content_type = "application/json") {
    if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
    return receiver.handle("POST", std::move(headers), std::move(body));
  }
  aw::Event only_event() {
    REQUIRE(eventually([&] { return recorder.event_count() == 1; }));
    return recorder.events()[0];
  }

  Recorder recorder;
  aw::Receiver receiver;
};

}  // namespace test
