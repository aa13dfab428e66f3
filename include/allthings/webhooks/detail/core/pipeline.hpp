#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "reporter.hpp"
#include "envelope_parser.hpp"
#include "../../inbox.hpp"
#include "../../options.hpp"
#include "../../signature.hpp"

namespace allthings::webhooks {

// What to answer the sender. Bodies are short fixed JSON: never exception text, secrets or an
// expected signature (Allthings stores response bodies for 30 days).
struct Reply {
  int status = 200;
  std::string_view body;
  int retry_after_seconds = 0;  // sent as Retry-After when > 0
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
inline constexpr Reply body_too_large{413, R"({"error":"body_too_large"})"};
inline constexpr Reply unsupported_media_type{415, R"({"error":"unsupported_media_type"})"};
inline constexpr Reply method_not_allowed{405, R"({"error":"method_not_allowed"})"};
inline constexpr Reply queue_full{503, R"({"error":"queue_full"})", 30};
inline constexpr Reply inbox_unavailable{503, R"({"error":"inbox_unavailable"})", 30};
inline constexpr Reply stopping{503, R"({"error":"stopping"})", 30};
inline constexpr Reply internal_error{500, R"({"error":"internal_error"})"};
}  // namespace replies

// Steps 3 to 7 of the request pipeline (design.md): unsigned policy, signature and timestamp,
// envelope, inbox acceptance, and the reply. Pure request-in, reply-out: no sockets, so it is
// tested and benchmarked on its own.
class RequestPipeline {
 public:
  RequestPipeline(const Options& options, std::shared_ptr<Inbox> inbox,
                  std::shared_ptr<const detail::Reporter> reporter)
      : verifier_(options),
        parser_(options.envelope),
        unsigned_policy_(options.unsigned_policy),
        clock_(options.clock),
        inbox_(std::move(inbox)),
        reporter_(std::move(reporter)) {}

  // `headers` are the request's headers with lower-case names.
  Reply handle(std::string body, HeaderList headers) const {
    const auto signature = find_header(headers, "x-allthings-signature");
    if (!signature) {
      if (unsigned_policy_ == UnsignedPolicy::reject) {
        return refuse(ErrorKind::unsigned_request, replies::missing_signature,
                      "request has no x-allthings-signature header");
      }
      reporter_->report(Error{ErrorKind::unsigned_request, 200,
                              "unsigned request acknowledged and not dispatched (URL check)"});
      return replies::unsigned_ignored;
    }

    const auto timestamp = find_header(headers, "x-allthings-signature-timestamp");
    if (const auto failure = verifier_.verify(*signature, timestamp, body)) {
      return refuse_verification(*failure);
    }

    auto parsed = parser_.parse(std::move(body), std::move(headers), clock_());
    if (const auto* kind = std::get_if<ErrorKind>(&parsed)) return refuse_envelope(*kind);
    // Kept (a reference count, not a copy) to name the event if the inbox refuses it.
    const std::shared_ptr<const EventRecord> record =
        std::get<std::shared_ptr<EventRecord>>(std::move(parsed));

    Acceptance acceptance = Acceptance::unavailable;
    try {
      acceptance = inbox_->accept(record);
    } catch (...) {
      acceptance = Acceptance::unavailable;  // a failing store must never turn into a 200
    }
    auto& counters = reporter_->counters();
    switch (acceptance) {
      case Acceptance::accepted:
        detail::Counters::bump(counters.accepted);
        return replies::accepted;
      case Acceptance::duplicate:
        detail::Counters::bump(counters.duplicates);
        return replies::duplicate;
      case Acceptance::full:
        reporter_->report(Error{ErrorKind::queue_full, 503, "inbox is at queue_capacity",
                                record->id, record->name});
        return replies::queue_full;
      case Acceptance::unavailable:
        break;
    }
    reporter_->report(Error{ErrorKind::inbox_unavailable, 503, "inbox could not store the event",
                            record->id, record->name});
    return replies::inbox_unavailable;
  }

  static std::optional<std::string_view> find_header(const HeaderList& headers,
                                                     std::string_view name) {
    for (const auto& [key, value] : headers) {
      if (key == name) return std::string_view(value);
    }
    return std::nullopt;
  }

 private:
  Reply refuse(ErrorKind kind, const Reply& reply, const char* message) const {
    reporter_->report(Error{kind, reply.status, message});
    return reply;
  }

  Reply refuse_verification(ErrorKind kind) const {
    switch (kind) {
      case ErrorKind::malformed_signature:
        return refuse(kind, replies::invalid_signature,
                      "x-allthings-signature is not 64 hex digits");
      case ErrorKind::signature_mismatch:
        return refuse(kind, replies::invalid_signature,
                      "signature matches none of the configured secrets");
      case ErrorKind::missing_timestamp:
        return refuse(kind, replies::invalid_timestamp,
                      "x-allthings-signature-timestamp is missing");
      case ErrorKind::malformed_timestamp:
        return refuse(kind, replies::invalid_timestamp,
                      "x-allthings-signature-timestamp is not 1 to 19 digits");
      case ErrorKind::stale_timestamp:
        return refuse(kind, replies::invalid_timestamp, "timestamp is older than the tolerance");
      case ErrorKind::future_timestamp:
        return refuse(kind, replies::invalid_timestamp,
                      "timestamp is further in the future than future_skew");
      default:
        return refuse(ErrorKind::internal_error, replies::internal_error, "unexpected failure");
    }
  }

  Reply refuse_envelope(ErrorKind kind) const {
    switch (kind) {
      case ErrorKind::malformed_json:
        return refuse(kind, replies::malformed_json, "body is not valid JSON");
      case ErrorKind::not_an_object:
        return refuse(kind, replies::not_an_object, "body is not a JSON object");
      default:
        return refuse(ErrorKind::missing_event_name, replies::missing_event_name,
                      "body has no event name at the configured pointer");
    }
  }

  SignatureVerifier verifier_;
  EnvelopeParser parser_;
  UnsignedPolicy unsigned_policy_;
  Clock clock_;
  std::shared_ptr<Inbox> inbox_;
  std::shared_ptr<const detail::Reporter> reporter_;
};

}  // namespace allthings::webhooks
