#pragma once

#include <stdexcept>
#include <string>

namespace allthings::webhooks::reconcile {

// A Webhooks API request failed for good: after its retries, or at once for a refusal that a
// retry cannot change (a 4xx other than 401 and 429, GraphQL errors, an answer that is not the
// documented shape). The message names the request and the cause; never a token, a secret or
// a payload.
class WebhooksApiError : public std::runtime_error {
 public:
  // `status`: the last HTTP status, 0 when none arrived (network error, time-out).
  WebhooksApiError(const std::string& message, int status)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace allthings::webhooks::reconcile
