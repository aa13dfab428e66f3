#pragma once

#include <string>
#include <string_view>

#include "event.hpp"

namespace allthings::webhooks {

// What to answer the sender. Bodies are short fixed JSON: never exception text, secrets or an
// expected signature (Allthings stores response bodies for 30 days).
struct Reply {
  int status = 200;
  std::string_view body{};
  int retry_after_seconds = 0;  // sent as Retry-After when > 0
  std::string_view allow{};     // sent as Allow when not empty (405)
  // The answer came before the request's body was read: the transport must close the
  // connection, or the unread body would be taken for the next request.
  bool close_connection = false;

  // The headers to send besides Content-Type: application/json.
  HeaderList headers() const {
    HeaderList out;
    if (retry_after_seconds > 0)
      out.emplace_back("Retry-After", std::to_string(retry_after_seconds));
    if (!allow.empty()) out.emplace_back("Allow", std::string(allow));
    if (close_connection) out.emplace_back("Connection", "close");
    return out;
  }

  constexpr Reply closing() const {
    Reply reply = *this;
    reply.close_connection = true;
    return reply;
  }
};

namespace replies {
inline constexpr Reply accepted{200, R"({"status":"accepted"})"};
inline constexpr Reply duplicate{200, R"({"status":"duplicate"})"};
inline constexpr Reply unsigned_ignored{200, R"({"status":"unsigned_ignored"})"};
inline constexpr Reply missing_signature{401, R"({"error":"missing_signature"})"};
inline constexpr Reply invalid_signature{401, R"({"error":"invalid_signature"})"};
inline constexpr Reply invalid_timestamp{401, R"({"error":"invalid_timestamp"})"};
inline constexpr Reply malformed_json{400, R"({"error":"malformed_json"})"};
inline constexpr Reply not_an_object{400, R"({"error":"not_an_object"})"};
inline constexpr Reply missing_event_name{400, R"({"error":"missing_event_name"})"};
inline constexpr Reply unreadable_body{400, R"({"error":"unreadable_body"})"};
inline constexpr Reply too_deeply_nested{400, R"({"error":"too_deeply_nested"})"};
inline constexpr Reply malformed_request{400, R"({"error":"malformed_request"})"};
inline constexpr Reply request_timeout{408, R"({"error":"request_timeout"})"};
inline constexpr Reply request_line_too_long{414, R"({"error":"request_line_too_long"})"};
inline constexpr Reply header_too_large{431, R"({"error":"header_too_large"})"};
inline constexpr Reply body_too_large{413, R"({"error":"body_too_large"})"};
inline constexpr Reply unsupported_media_type{415, R"({"error":"unsupported_media_type"})"};
inline constexpr Reply method_not_allowed{405, R"({"error":"method_not_allowed"})", 0, "POST"};
inline constexpr Reply queue_full{503, R"({"error":"queue_full"})", 30};
inline constexpr Reply inbox_unavailable{503, R"({"error":"inbox_unavailable"})", 30};
inline constexpr Reply stopping{503, R"({"error":"stopping"})", 30};
inline constexpr Reply internal_error{500, R"({"error":"internal_error"})"};
}  // namespace replies

}  // namespace allthings::webhooks
