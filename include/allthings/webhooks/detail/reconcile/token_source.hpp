#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "../../reconcile/api_error.hpp"
#include "../../reconcile/credentials.hpp"
#include "https_post.hpp"

namespace allthings::webhooks::detail {

// application/x-www-form-urlencoded: unreserved characters as they are, the rest %XX.
inline std::string form_encode(const std::string& text) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

// An OAuth 2.0 client-credentials access token, fetched when first needed and again shortly
// before it expires or after the API refused it (401). The token never leaves this class but
// as the Authorization header's value.
class TokenSource {
 public:
  TokenSource(reconcile::ClientCredentials credentials, HttpsUrl token_url, std::string ca_file,
              std::chrono::milliseconds timeout)
      : credentials_(std::move(credentials)),
        url_(std::move(token_url)),
        ca_file_(std::move(ca_file)),
        timeout_(timeout) {}

  // "Bearer <token>", fetching a token when there is none or it is about to expire. Throws
  // WebhooksApiError (retryable() tells whether another attempt may help).
  std::string authorization() {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (!token_ || now >= refresh_at_) fetch(now);
    return "Bearer " + *token_;
  }

  // The API answered 401 to the current token: fetch a new one next time.
  void invalidate() {
    std::lock_guard<std::mutex> lock(mutex_);
    token_.reset();
  }

  int fetches() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fetches_;
  }

 private:
  void fetch(std::chrono::steady_clock::time_point now) {
    std::string form = "grant_type=client_credentials&client_id=" +
                       form_encode(credentials_.client_id) +
                       "&client_secret=" + form_encode(credentials_.client_secret);
    if (!credentials_.scope.empty()) {
      form += "&scope=" + form_encode(credentials_.scope);
    }
    const auto answer = https_post(url_, ca_file_, timeout_, {{"Accept", "application/json"}},
                                   form, "application/x-www-form-urlencoded");
    if (answer.status != 200) {
      throw reconcile::WebhooksApiError(
          answer.status == 0
              ? "token request: no answer from " + url_.host + " (network, TLS or time-out)"
              : "token request: " + url_.host + " answered HTTP " + std::to_string(answer.status),
          answer.status);
    }
    const auto json = nlohmann::json::parse(answer.body, nullptr, false);
    if (!json.is_object() || !json.contains("access_token") ||
        !json["access_token"].is_string() || json["access_token"].get<std::string>().empty()) {
      throw reconcile::WebhooksApiError("token request: the answer holds no access_token", 200);
    }
    token_ = json["access_token"].get<std::string>();
    ++fetches_;
    // Without expires_in, assume a short life; refresh a little before the end either way.
    long long lifetime = 300;
    if (json.contains("expires_in") && json["expires_in"].is_number()) {
      lifetime = json["expires_in"].get<long long>();
    }
    const long long margin = lifetime > 60 ? 30 : lifetime / 2;
    refresh_at_ = now + std::chrono::seconds(lifetime - margin);
  }

  const reconcile::ClientCredentials credentials_;
  const HttpsUrl url_;
  const std::string ca_file_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::optional<std::string> token_;
  std::chrono::steady_clock::time_point refresh_at_{};
  int fetches_ = 0;
};

}  // namespace allthings::webhooks::detail
