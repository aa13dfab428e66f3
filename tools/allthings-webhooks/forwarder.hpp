#pragma once

// `serve --forward URL`: POSTs an event's original body and headers, plus
// x-allthings-event-id, to the application. Anything but a 2xx in time throws, so the receiver
// retries and finally dead-letters.
#include <chrono>
#include <stdexcept>
#include <string>

#include <httplib.h>

#include <allthings/webhooks.hpp>

#include "connection_headers.hpp"
#include "url.hpp"

namespace allthings::webhooks::tool {

class Forwarder {
 public:
  Forwarder(HttpUrl url, std::chrono::milliseconds timeout)
      : url_(std::move(url)), timeout_(timeout) {}

  void operator()(const Event& event) const {
    httplib::Headers headers;
    std::string content_type = "application/json";
    for (const auto& [name, value] : event.headers()) {
      if (is_connection_header(name)) continue;
      if (detail::equals_ignoring_case(name, "content-type")) {
        content_type = value;
        continue;
      }
      headers.emplace(name, value);
    }
    headers.emplace("x-allthings-event-id", event.id());
    // A client per call: workers forward concurrently, and a client is not thread-safe.
    httplib::Client client(url_.origin);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout_);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout_ - seconds);
    client.set_connection_timeout(seconds.count(), micros.count());
    client.set_read_timeout(seconds.count(), micros.count());
    client.set_write_timeout(seconds.count(), micros.count());
    client.set_tcp_nodelay(true);
    const auto response = client.Post(url_.path, headers, event.raw_body(), content_type);
    if (!response) {
      throw std::runtime_error("--forward: " + url_.origin + url_.path +
                               " answered nothing: " + httplib::to_string(response.error()));
    }
    if (response->status < 200 || response->status > 299) {
      throw std::runtime_error("--forward: " + url_.origin + url_.path + " answered " +
                               std::to_string(response->status));
    }
  }

 private:
  HttpUrl url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace allthings::webhooks::tool
