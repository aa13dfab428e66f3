#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "../../inbox.hpp"
#include "../../logging.hpp"
#include "../../options.hpp"
#include "../../reply.hpp"
#include "../../scheme.hpp"
#include "envelope_parser.hpp"
#include "reporter.hpp"

namespace allthings::webhooks::detail {

// Steps 3 to 7 of a request: unsigned policy, the scheme's signature and timestamp check, the
// envelope, inbox acceptance, and the reply. Pure request in, reply out: no sockets, so it is
// tested and benchmarked on its own.
class RequestPipeline {
 public:
  RequestPipeline(const Options& options, std::shared_ptr<const Scheme> scheme,
                  std::shared_ptr<Inbox> inbox, std::shared_ptr<const Reporter> reporter)
      : scheme_(std::move(scheme)),
        parser_(envelope_for(*scheme_, options), options.max_json_depth),
        unsigned_policy_(options.unsigned_policy),
        clock_(options.clock),
        inbox_(std::move(inbox)),
        reporter_(std::move(reporter)) {}

  // `headers` are the request's headers with lower-case names.
  Reply handle(std::string body, HeaderList headers) const {
    if (!scheme_->is_signed(headers)) {
      if (unsigned_policy_ == UnsignedPolicy::reject) {
        return refuse(ErrorKind::unsigned_request, replies::missing_signature,
                      "request carries no signature");
      }
      reporter_->report(Error{ErrorKind::unsigned_request, 200,
                              "unsigned request acknowledged and not dispatched (URL check)"});
      return replies::unsigned_ignored;
    }

    const auto now = clock_();
    if (auto refusal = scheme_->verify(headers, body, now)) return refuse(std::move(*refusal));

    const auto reading = scheme_->body_format().read_as(
        find_header(headers, "content-type").value_or(std::string_view()));
    auto parsed = parser_.parse(std::move(body), std::move(headers), now, *scheme_, reading);
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
        Counters::bump(counters.accepted);
        counters.requests.count(RequestTally::accepted, replies::accepted.status);
        log_acknowledged(*record, "accepted");
        return replies::accepted;
      case Acceptance::duplicate:
        Counters::bump(counters.duplicates);
        counters.requests.count(RequestTally::duplicate, replies::duplicate.status);
        log_acknowledged(*record, "duplicate");
        return replies::duplicate;
      case Acceptance::full:
        reporter_->report(Error{ErrorKind::queue_full, 503, "inbox is at queue_capacity",
                                record->id, record->name});
        return replies::queue_full;
      case Acceptance::unavailable: break;
    }
    reporter_->report(Error{ErrorKind::inbox_unavailable, 503, "inbox could not store the event",
                            record->id, record->name});
    return replies::inbox_unavailable;
  }

 private:
  void log_acknowledged(const EventRecord& record, const char* outcome) const {
    const auto& logger = reporter_->logger();
    if (!logger.enabled(LogLevel::debug)) return;
    logger.log(LogLevel::debug, "request acknowledged",
               {{"event.id", record.id},
                {"event.name", record.name},
                {"outcome", outcome},
                {"http.response.status_code", 200}});
  }

  Reply refuse(ErrorKind kind, const Reply& reply, std::string message) const {
    reporter_->report(Error{kind, reply.status, std::move(message)});
    return reply;
  }

  Reply refuse(Refusal refusal) const {
    switch (refusal.kind) {
      case ErrorKind::malformed_signature:
      case ErrorKind::signature_mismatch:
        return refuse(refusal.kind, replies::invalid_signature, std::move(refusal.message));
      case ErrorKind::missing_timestamp:
      case ErrorKind::malformed_timestamp:
      case ErrorKind::stale_timestamp:
      case ErrorKind::future_timestamp:
        return refuse(refusal.kind, replies::invalid_timestamp, std::move(refusal.message));
      default:
        return refuse(ErrorKind::internal_error, replies::internal_error,
                      "the scheme refused with an error kind that is not about signatures");
    }
  }

  Reply refuse_envelope(ErrorKind kind) const {
    switch (kind) {
      case ErrorKind::malformed_json:
        return refuse(kind, replies::malformed_json, "body is not valid JSON");
      case ErrorKind::not_an_object:
        return refuse(kind, replies::not_an_object, "body is not a JSON object");
      case ErrorKind::too_deeply_nested:
        return refuse(kind, replies::too_deeply_nested,
                      "body nests arrays and objects deeper than max_json_depth");
      default:
        return refuse(ErrorKind::missing_event_name, replies::missing_event_name,
                      "the delivery has no event name where the scheme reads it");
    }
  }

  std::shared_ptr<const Scheme> scheme_;
  EnvelopeParser parser_;
  UnsignedPolicy unsigned_policy_;
  Clock clock_;
  std::shared_ptr<Inbox> inbox_;
  std::shared_ptr<const Reporter> reporter_;
};

}  // namespace allthings::webhooks::detail
