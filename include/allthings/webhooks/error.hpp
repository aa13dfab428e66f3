#pragma once

#include <string>
#include <string_view>

namespace allthings::webhooks {

// Why a request was refused or an event was not delivered. Reported through on_error and
// counted in stats(); never carries secrets, signatures or bodies.
enum class ErrorKind {
  // Requests (the HTTP status is in Error::status).
  method_not_allowed,
  body_too_large,
  unsupported_media_type,
  unreadable_body,
  request_timeout,
  request_line_too_long,
  header_too_large,
  malformed_request,
  unsigned_request,
  malformed_signature,
  signature_mismatch,
  missing_timestamp,
  malformed_timestamp,
  stale_timestamp,
  future_timestamp,
  malformed_json,
  not_an_object,
  missing_event_name,
  too_deeply_nested,
  queue_full,
  inbox_unavailable,
  stopping,
  internal_error,
  // Events (after the acknowledgement).
  handler_failed,
  dead_lettered,
  undelivered_at_stop,
  inbox_failed,
};

inline constexpr int error_kind_count = static_cast<int>(ErrorKind::inbox_failed) + 1;

inline const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::method_not_allowed: return "method_not_allowed";
    case ErrorKind::body_too_large: return "body_too_large";
    case ErrorKind::unsupported_media_type: return "unsupported_media_type";
    case ErrorKind::unreadable_body: return "unreadable_body";
    case ErrorKind::request_timeout: return "request_timeout";
    case ErrorKind::request_line_too_long: return "request_line_too_long";
    case ErrorKind::header_too_large: return "header_too_large";
    case ErrorKind::malformed_request: return "malformed_request";
    case ErrorKind::unsigned_request: return "unsigned_request";
    case ErrorKind::malformed_signature: return "malformed_signature";
    case ErrorKind::signature_mismatch: return "signature_mismatch";
    case ErrorKind::missing_timestamp: return "missing_timestamp";
    case ErrorKind::malformed_timestamp: return "malformed_timestamp";
    case ErrorKind::stale_timestamp: return "stale_timestamp";
    case ErrorKind::future_timestamp: return "future_timestamp";
    case ErrorKind::malformed_json: return "malformed_json";
    case ErrorKind::not_an_object: return "not_an_object";
    case ErrorKind::missing_event_name: return "missing_event_name";
    case ErrorKind::too_deeply_nested: return "too_deeply_nested";
    case ErrorKind::queue_full: return "queue_full";
    case ErrorKind::inbox_unavailable: return "inbox_unavailable";
    case ErrorKind::stopping: return "stopping";
    case ErrorKind::internal_error: return "internal_error";
    case ErrorKind::handler_failed: return "handler_failed";
    case ErrorKind::dead_lettered: return "dead_lettered";
    case ErrorKind::undelivered_at_stop: return "undelivered_at_stop";
    case ErrorKind::inbox_failed: return "inbox_failed";
  }
  return "unknown";
}

struct Error {
  ErrorKind kind;
  // HTTP status answered, or 0 for errors that happen after the acknowledgement.
  int status = 0;
  // Short human-readable detail, e.g. a handler's exception message. Never secret material.
  std::string message{};
  // Filled in when the error concerns a known event.
  std::string event_id{};
  std::string event_name{};
  int attempt = 0;
};

}  // namespace allthings::webhooks
