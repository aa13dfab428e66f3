#pragma once

// The Webhooks API's transport: GraphQL over HTTPS with an OAuth 2.0 bearer token. Not part of
// the umbrella header: only code that includes it needs cpp-httplib's TLS client (CMake target
// allthings::webhooks_reconcile).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "../detail/core/logger.hpp"
#include "../detail/reconcile/https_post.hpp"
#include "../detail/reconcile/https_url.hpp"
#include "../detail/reconcile/token_source.hpp"
#include "api_error.hpp"
#include "api_settings.hpp"

namespace allthings::webhooks::reconcile {

// Sends GraphQL requests to the Webhooks API and returns their `data`. Fetches and refreshes
// the token by itself (on expiry, and once after a 401), retries network errors, time-outs,
// 5xx and 429 with back-off, and gives up with a WebhooksApiError. Thread-safe.
class WebhooksApiClient {
 public:
  // Throws std::invalid_argument when a URL is not https:// or a setting is out of range.
  explicit WebhooksApiClient(WebhooksApiSettings settings)
      : settings_(checked(std::move(settings))),
        api_url_(detail::parse_https_url(settings_.api_url, "WebhooksApiSettings.api_url")),
        tokens_(settings_.credentials,
                detail::parse_https_url(settings_.credentials.token_url,
                                        "WebhooksApiSettings.credentials.token_url"),
                settings_.ca_file, settings_.request_timeout),
        logger_(settings_.log, settings_.log_level) {}

  // Runs `document` with `variables` and returns the answer's `data` object. `what` names the
  // request in logs and errors ("deliveries", "register webhook").
  nlohmann::json graphql(const std::string& what, const std::string& document,
                         const nlohmann::json& variables = nlohmann::json::object()) {
    const std::string body =
        nlohmann::json{{"query", document}, {"variables", variables}}.dump();
    bool refreshed_after_401 = false;
    for (int attempt = 1;; ++attempt) {
      detail::HttpsAnswer answer;
      try {
        const std::string authorization = tokens_.authorization();
        answer = detail::https_post(api_url_, settings_.ca_file, settings_.request_timeout,
                                    {{"Authorization", authorization},
                                     {"Accept", "application/json"}},
                                    body, "application/json");
      } catch (const WebhooksApiError& error) {
        // The token request itself failed: retry what a retry may fix.
        if (!retryable(error.status()) || attempt >= settings_.max_attempts) throw;
        wait_before_retry(what, attempt, error.status(), "");
        continue;
      }
      if (answer.status == 401 && !refreshed_after_401) {
        // An expired or revoked token: one fresh token, not counted as an attempt.
        refreshed_after_401 = true;
        tokens_.invalidate();
        logger_.log(LogLevel::info, "webhooks api refused the token; fetching a new one",
                    {{"request", what}, {"http.response.status_code", 401}});
        --attempt;
        continue;
      }
      if (answer.status == 200) return data_of(what, answer.body);
      if (!retryable(answer.status) || attempt >= settings_.max_attempts) {
        throw WebhooksApiError(
            "webhooks api " + what + ": " +
                (answer.status == 0 ? std::string("no answer (network, TLS or time-out)")
                                    : "HTTP " + std::to_string(answer.status)) +
                " after " + std::to_string(attempt) + " attempt(s)",
            answer.status);
      }
      wait_before_retry(what, attempt, answer.status, answer.retry_after);
    }
  }

  // How many tokens were fetched so far (for tests and metrics).
  int token_fetches() const { return tokens_.fetches(); }

  const WebhooksApiSettings& settings() const { return settings_; }

 private:
  static WebhooksApiSettings checked(WebhooksApiSettings settings) {
    auto require = [](bool ok, const char* message) {
      if (!ok) throw std::invalid_argument(std::string("WebhooksApiSettings.") + message);
    };
    require(settings.max_attempts >= 1, "max_attempts must be at least 1");
    require(settings.request_timeout.count() > 0, "request_timeout must be positive");
    require(settings.retry_base_delay.count() >= 0, "retry_base_delay must not be negative");
    require(settings.retry_max_delay >= settings.retry_base_delay,
            "retry_max_delay must be at least retry_base_delay");
    require(!settings.credentials.client_id.empty(), "credentials.client_id is empty");
    require(!settings.credentials.client_secret.empty(), "credentials.client_secret is empty");
    return settings;
  }

  // 0: no answer (network error, TLS failure, time-out).
  static bool retryable(int status) { return status == 0 || status == 429 || status >= 500; }

  void wait_before_retry(const std::string& what, int attempt, int status,
                         const std::string& retry_after) {
    auto delay = settings_.retry_base_delay * (1LL << std::min(attempt - 1, 20));
    if (!retry_after.empty() &&
        retry_after.find_first_not_of("0123456789") == std::string::npos &&
        retry_after.size() < 9) {
      delay = std::max<std::chrono::milliseconds>(
          delay, std::chrono::seconds(std::atol(retry_after.c_str())));
    }
    delay = std::min<std::chrono::milliseconds>(delay, settings_.retry_max_delay);
    logger_.log(LogLevel::warning, "webhooks api request failed; retrying",
                {{"request", what},
                 {"http.response.status_code", status},
                 {"attempt", attempt},
                 {"delay", std::chrono::duration<double>(delay).count()}});
    std::this_thread::sleep_for(delay);
  }

  // The `data` of a GraphQL answer; its `errors` turn into a WebhooksApiError naming the
  // first error's message (the API's own words, never our token or a payload).
  static nlohmann::json data_of(const std::string& what, const std::string& body) {
    auto json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_object()) {
      throw WebhooksApiError("webhooks api " + what + ": the answer is not a JSON object", 200);
    }
    const auto errors = json.find("errors");
    if (errors != json.end() && errors->is_array() && !errors->empty()) {
      std::string message = "unknown error";
      const auto& first = (*errors)[0];
      if (first.is_object() && first.contains("message") && first["message"].is_string()) {
        message = first["message"].get<std::string>().substr(0, 200);
      }
      throw WebhooksApiError("webhooks api " + what + ": GraphQL error: " + message, 200);
    }
    const auto data = json.find("data");
    if (data == json.end() || !data->is_object()) {
      throw WebhooksApiError("webhooks api " + what + ": the answer has no data object", 200);
    }
    return std::move(*data);
  }

  const WebhooksApiSettings settings_;
  const detail::HttpsUrl api_url_;
  detail::TokenSource tokens_;
  const detail::Logger logger_;
};

}  // namespace allthings::webhooks::reconcile
