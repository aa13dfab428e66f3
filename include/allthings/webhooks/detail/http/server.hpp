#pragma once

#include <sys/socket.h>

#include <exception>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>

#include "../../event.hpp"
#include "../../options.hpp"
#include "../core/pipeline.hpp"

// Small pieces of the HTTP adapter that stay the same across cpp-httplib 0.11 to 0.53; only
// API present at both ends is used.
namespace allthings::webhooks::detail {

// ASCII only, as header names and media types are: no locale lookup per character, which
// showed in profiles at one call per header per request.
inline std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

inline bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "application/json", "application/json; charset=utf-8", "application/vnd.x+json", any case.
inline bool is_json_media_type(std::string_view content_type) {
  const auto type = trim(content_type.substr(0, content_type.find(';')));
  const std::string_view suffix = "+json";
  return equals_ignoring_case(type, "application/json") ||
         (type.size() > suffix.size() &&
          equals_ignoring_case(type.substr(type.size() - suffix.size()), suffix));
}

// Content-Length as a number; nullopt when absent or not a plain decimal.
inline std::optional<std::uint64_t> content_length(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

inline HeaderList lower_case_headers(const httplib::Headers& headers) {
  HeaderList out;
  out.reserve(headers.size());
  for (const auto& [name, value] : headers) out.emplace_back(to_lower(name), value);
  return out;
}

// cpp-httplib treats route patterns as regular expressions.
inline std::string escape_regex(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

inline void write_reply(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  res.set_content(std::string(reply.body), "application/json");
  if (reply.retry_after_seconds > 0) {
    res.set_header("Retry-After", std::to_string(reply.retry_after_seconds));
  }
}

// The settings listen()/start() give their own server (the benchmark's ceiling uses the same).
inline void configure_server(httplib::Server& server, const Options& o) {
  const auto threads = o.http_threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(o.max_body_bytes);
  server.set_keep_alive_max_count(o.keep_alive_max_count);
  server.set_keep_alive_timeout(static_cast<time_t>(o.keep_alive_timeout.count()));
  server.set_read_timeout(static_cast<time_t>(o.read_timeout.count()), 0);
  server.set_write_timeout(static_cast<time_t>(o.write_timeout.count()), 0);
  server.set_tcp_nodelay(true);
  // cpp-httplib's default adds SO_REUSEPORT, which lets a second process bind the same port
  // and silently take half the deliveries; a taken port must be an error instead.
  server.set_socket_options([](auto sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes),
                 sizeof yes);
  });
  // Without it, cpp-httplib 0.11 to 0.34 put e.what() in a response header.
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        write_reply(res, replies::internal_error);
      });
}

}  // namespace allthings::webhooks::detail
