#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "detail/crypto/hmac_sha256.hpp"
#include "detail/core/envelope_parser.hpp"
#include "event.hpp"

// Helpers for testing code that receives Allthings webhooks: sign bodies the way Allthings
// does, and build events for handler unit tests without any HTTP.
namespace allthings::webhooks::testing {

// Lower-case hex HMAC-SHA256 of `body` keyed with `secret`: the x-allthings-signature value.
inline std::string sign(std::string_view body, std::string_view secret) {
  return detail::to_hex(detail::HmacSha256Key(secret).compute(body));
}

// Milliseconds since the epoch, as Allthings sends in x-allthings-signature-timestamp.
inline std::string timestamp_millis(
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
}

// The headers of a genuine delivery of `body`, e.g. for httplib::Client::Post.
inline httplib::Headers signed_headers(
    std::string_view body, std::string_view secret,
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
  return {{"x-allthings-signature", sign(body, secret)},
          {"x-allthings-signature-timestamp", timestamp_millis(at)}};
}

// A body in the default envelope: {"event":{"id","name","urn","createdDate","data"}}.
inline std::string envelope_body(std::string_view id, std::string_view name,
                                 const nlohmann::json& data = nlohmann::json::object()) {
  nlohmann::json event = {{"id", id}, {"name", name}, {"data", data}};
  return nlohmann::json{{"event", std::move(event)}}.dump();
}

// An Event as a handler would receive it, for unit tests of handlers.
inline Event make_event(std::string_view id, std::string_view name,
                        const nlohmann::json& data = nlohmann::json::object(), int attempt = 1) {
  auto parsed = EnvelopeParser(EnvelopePaths{})
                    .parse(envelope_body(id, name, data), {}, std::chrono::system_clock::now());
  return Event(std::get<std::shared_ptr<EventRecord>>(std::move(parsed)), attempt);
}

}  // namespace allthings::webhooks::testing
