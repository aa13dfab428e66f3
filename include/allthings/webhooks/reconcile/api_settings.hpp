#pragma once

#include <chrono>
#include <string>

#include "../logging.hpp"
#include "credentials.hpp"

namespace allthings::webhooks::reconcile {

// How WebhooksApiClient reaches Allthings' Webhooks API. HTTPS only, and the server's
// certificate and host name are always verified: there is no switch to turn that off.
struct WebhooksApiSettings {
  std::string api_url = "https://webhooks.allthings.me/";
  ClientCredentials credentials;
  // PEM file of the certificate authorities to trust instead of the system's: a private CA,
  // or a test's own certificate.
  std::string ca_file;
  // Bounds one HTTP exchange (connect, send, and each read).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  // Attempts per request, counting the first, for network errors, 5xx and 429.
  int max_attempts = 5;
  // Back-off between attempts: base * 2^(attempt-1), capped; a Retry-After in seconds wins
  // when it is longer, up to the cap.
  std::chrono::milliseconds retry_base_delay{500};
  std::chrono::milliseconds retry_max_delay{std::chrono::seconds(30)};
  // Records of retries and token refreshes: statuses, attempts, delays; never the token, the
  // client secret or a payload.
  LogHandler log;
  LogLevel log_level = LogLevel::info;
};

}  // namespace allthings::webhooks::reconcile
