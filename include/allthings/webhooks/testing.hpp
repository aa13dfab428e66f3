#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "detail/core/envelope_parser.hpp"
#include "event.hpp"
#include "options.hpp"
#include "scheme.hpp"

// Helpers for testing code that receives webhooks: sign bodies the way the sender does, and
// build events for handler unit tests without any HTTP. Signing goes through a scheme, by
// default Allthings'.
namespace allthings::webhooks::testing {

// The headers of a genuine delivery of `body` at `at` under `options.scheme`, signed with
// `secret`, as a HeaderList (for Receiver::handle).
inline HeaderList sign_headers(
    const Options& options, std::string_view body, std::string_view secret,
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
  return options.scheme(options)->sign(body, secret, at);
}

// The same for Allthings' scheme with default options, as httplib::Headers (for
// httplib::Client::Post).
inline httplib::Headers signed_headers(
    std::string_view body, std::string_view secret,
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
  const auto headers = sign_headers(Options{}, body, secret, at);
  return httplib::Headers(headers.begin(), headers.end());
}

// The same under `options.scheme`, as httplib::Headers.
inline httplib::Headers signed_headers(
    const Options& options, std::string_view body, std::string_view secret,
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
  const auto headers = sign_headers(options, body, secret, at);
  return httplib::Headers(headers.begin(), headers.end());
}

// The x-allthings-signature value of `body`: lower-case hex HMAC-SHA256 keyed with `secret`.
inline std::string sign(std::string_view body, std::string_view secret) {
  const auto headers = sign_headers(Options{}, body, secret);
  return std::string(find_header(headers, schemes::AllthingsScheme::signature_header).value_or(""));
}

// Milliseconds since the epoch, as Allthings sends in x-allthings-signature-timestamp.
inline std::string timestamp_millis(
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
}

// A body in the default envelope: {"event":{"id","name","data"}}.
inline std::string envelope_body(std::string_view id, std::string_view name,
                                 const nlohmann::json& data = nlohmann::json::object()) {
  nlohmann::json event = {{"id", id}, {"name", name}, {"data", data}};
  return nlohmann::json{{"event", std::move(event)}}.dump();
}

// An Event as a handler would receive it, for unit tests of handlers.
inline Event make_event(std::string_view id, std::string_view name,
                        const nlohmann::json& data = nlohmann::json::object(), int attempt = 1) {
  auto parsed = detail::EnvelopeParser(EnvelopePaths{}, Options{}.max_json_depth)
                    .parse(envelope_body(id, name, data), {}, std::chrono::system_clock::now());
  return Event(std::get<std::shared_ptr<EventRecord>>(std::move(parsed)), attempt);
}

}  // namespace allthings::webhooks::testing
