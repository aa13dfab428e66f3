#pragma once

// Headers about the connection a delivery came on rather than about the delivery: not passed
// on by --forward, not shown by --print and --exec. cpp-httplib adds remote_addr and the like.
#include <string_view>

#include <allthings/webhooks.hpp>

namespace allthings::webhooks::tool {

inline bool is_connection_header(std::string_view name) {
  for (const char* hop : {"host", "content-length", "connection", "keep-alive", "transfer-encoding",
                          "te", "upgrade", "expect", "proxy-connection", "remote_addr",
                          "remote_port", "local_addr", "local_port"}) {
    if (detail::equals_ignoring_case(name, hop)) return true;
  }
  return false;
}

}  // namespace allthings::webhooks::tool
