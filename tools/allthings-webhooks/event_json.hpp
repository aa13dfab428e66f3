#pragma once

// One event as the JSON that `serve --print` writes and `serve --exec` feeds a command.
#include <chrono>
#include <string>

#include <allthings/webhooks.hpp>
#include <nlohmann/json.hpp>

#include "connection_headers.hpp"

namespace allthings::webhooks::tool {

// {"id", "name", "attempt", "received_at" (Unix ms), "headers", "body"}: "body" is the body
// parsed when it is JSON, else the raw text (e.g. Slack's form-encoded commands).
inline std::string event_json(const Event& event) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : event.headers()) {
    if (!is_connection_header(name)) headers[name] = value;
  }
  auto body = nlohmann::json::parse(event.raw_body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) body = event.raw_body();
  const auto received = std::chrono::duration_cast<std::chrono::milliseconds>(
      event.received_at().time_since_epoch());
  nlohmann::json out = {{"id", event.id()},
                        {"name", event.name()},
                        {"attempt", event.attempt()},
                        {"received_at", received.count()},
                        {"headers", std::move(headers)},
                        {"body", std::move(body)}};
  // Invalid UTF-8 in a raw body is replaced rather than making the event undeliverable.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace allthings::webhooks::tool
