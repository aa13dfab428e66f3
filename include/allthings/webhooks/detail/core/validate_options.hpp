#pragma once

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

inline void validate(const Options& o) {
  require(!o.secrets.empty(), "secrets must hold at least one secret");
  for (std::size_t i = 0; i < o.secrets.size(); ++i) {
    require(!o.secrets[i].empty(), "secrets[" + std::to_string(i) + "] is empty");
  }
  require(!o.path.empty() && o.path.front() == '/', "path must start with '/'");
  require(o.path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789/-_.~") == std::string::npos,
          "path may hold only letters, digits and /-_.~");
  require(o.timestamp_tolerance.count() > 0, "timestamp_tolerance must be positive");
  require(o.future_skew.count() >= 0, "future_skew must not be negative");
  require(o.max_body_bytes > 0, "max_body_bytes must be positive");
  require(o.workers > 0, "workers must be at least 1");
  require(o.queue_capacity > 0, "queue_capacity must be at least 1");
  require(o.dedupe_window.count() > 0, "dedupe_window must be positive");
  require(o.dedupe_capacity > 0, "dedupe_capacity must be at least 1");
  require(o.max_attempts >= 1, "max_attempts must be at least 1");
  require(o.retry_base_delay.count() >= 0, "retry_base_delay must not be negative");
  require(o.retry_max_delay >= o.retry_base_delay,
          "retry_max_delay must not be below retry_base_delay");
  require(o.drain_timeout.count() >= 0, "drain_timeout must not be negative");
  require(static_cast<bool>(o.clock), "clock must be set");
  require(static_cast<bool>(o.scheme), "scheme must be set");
  require(o.http_threads > 0, "http_threads must be at least 1");
  require(o.keep_alive_max_count > 0, "keep_alive_max_count must be at least 1");
  require(o.keep_alive_timeout.count() > 0, "keep_alive_timeout must be positive");
  require(o.read_timeout.count() > 0, "read_timeout must be positive");
  require(o.write_timeout.count() > 0, "write_timeout must be positive");
  require(o.listen_backlog > 0, "listen_backlog must be at least 1");
  require(o.drain_delay.count() >= 0, "drain_delay must not be negative");
  validate_operations(o);
  validate_tls(o.tls);
}

}  // namespace allthings::webhooks::detail
