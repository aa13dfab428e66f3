#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "../../options.hpp"

namespace allthings::webhooks::detail {

inline void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("Options." + message);
}

inline bool is_route_path(const std::string& path) {
  return !path.empty() && path.front() == '/' &&
         path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789/-_.~") == std::string::npos;
}

inline void validate_operations(const Options& o) {
  const std::pair<const char*, const std::string*> routes[] = {{"livez", &o.operations.livez},
                                                               {"readyz", &o.operations.readyz},
                                                               {"metrics", &o.operations.metrics}};
  for (const auto& [name, path] : routes) {
    if (path->empty()) continue;
    const std::string field = std::string("operations.") + name;
    require(is_route_path(*path),
            field + " must be empty or start with '/' and hold only letters, digits and /-_.~");
    require(*path != o.path, field + " must differ from path");
    for (const auto& [other_name, other_path] : routes) {
      require(other_path == path || *other_path != *path,
              field + " must differ from operations." + other_name);
    }
  }
}

inline void validate_tls(const TlsOptions& tls) {
  if (!tls.enabled()) return;
  require(tls.certificate_file.empty() != tls.certificate_pem.empty(),
          "tls needs exactly one of certificate_file and certificate_pem");
  require(tls.private_key_file.empty() != tls.private_key_pem.empty(),
          "tls needs exactly one of private_key_file and private_key_pem");
}

// The longest any duration option may be: ten years is far beyond any sensible setting and far
// inside what a clock's time_point can add without overflowing.
inline constexpr std::chrono::hours longest_duration{24 * 366 * 10};

template <class Rep, class Period>
void require_duration(std::chrono::duration<Rep, Period> value, bool positive,
                      const std::string& name) {
  require(positive ? value.count() > 0 : value.count() >= 0,
          name + (positive ? " must be positive" : " must not be negative"));
  require(value <= longest_duration, name + " must be at most ten years");
}

inline void validate(const Options& o) {
  require(!o.secrets.empty(), "secrets must hold at least one secret");
  for (std::size_t i = 0; i < o.secrets.size(); ++i) {
    require(!o.secrets[i].empty(), "secrets[" + std::to_string(i) + "] is empty");
  }
  require(!o.path.empty() && o.path.front() == '/', "path must start with '/'");
  require(o.path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789/-_.~") == std::string::npos,
          "path may hold only letters, digits and /-_.~");
  require_duration(o.timestamp_tolerance, true, "timestamp_tolerance");
  require_duration(o.future_skew, false, "future_skew");
  require(o.max_body_bytes > 0, "max_body_bytes must be positive");
  require(o.max_json_depth >= 1 && o.max_json_depth <= 1000,
          "max_json_depth must be between 1 and 1000");
  require(o.workers > 0, "workers must be at least 1");
  require(o.queue_capacity > 0, "queue_capacity must be at least 1");
  require_duration(o.dedupe_window, true, "dedupe_window");
  require(o.dedupe_capacity > 0, "dedupe_capacity must be at least 1");
  require(o.max_attempts >= 1 && o.max_attempts <= 10000,
          "max_attempts must be between 1 and 10000");
  require_duration(o.retry_base_delay, false, "retry_base_delay");
  require_duration(o.retry_max_delay, false, "retry_max_delay");
  require(o.retry_max_delay >= o.retry_base_delay,
          "retry_max_delay must not be below retry_base_delay");
  require_duration(o.drain_timeout, false, "drain_timeout");
  require(static_cast<bool>(o.clock), "clock must be set");
  require(static_cast<bool>(o.scheme), "scheme must be set");
  require(o.http_threads > 0, "http_threads must be at least 1");
  require(o.keep_alive_max_count > 0, "keep_alive_max_count must be at least 1");
  require_duration(o.keep_alive_timeout, true, "keep_alive_timeout");
  require_duration(o.read_timeout, true, "read_timeout");
  require_duration(o.write_timeout, true, "write_timeout");
  require(o.listen_backlog > 0, "listen_backlog must be at least 1");
  require_duration(o.drain_delay, false, "drain_delay");
  require(o.max_request_line_bytes >= 64, "max_request_line_bytes must be at least 64");
  require(o.max_header_bytes >= o.max_request_line_bytes && o.max_header_bytes <= 1024 * 1024,
          "max_header_bytes must be between max_request_line_bytes and 1 MiB");
  require(o.max_header_count >= 1 && o.max_header_count <= 10000,
          "max_header_count must be between 1 and 10000");
  require_duration(o.header_timeout, true, "header_timeout");
  require_duration(o.body_timeout, true, "body_timeout");
  validate_operations(o);
  validate_tls(o.tls);
}

}  // namespace allthings::webhooks::detail
