#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/core/admission_gate.hpp"
#include "detail/core/counters.hpp"
#include "detail/core/dispatcher.hpp"
#include "detail/core/envelope_parser.hpp"
#include "detail/core/handler_registry.hpp"
#include "detail/core/metrics_snapshot.hpp"
#include "detail/core/pipeline.hpp"
#include "detail/core/reporter.hpp"
#include "detail/core/validate_options.hpp"
#include "detail/text/ascii.hpp"
#include "error.hpp"
#include "event.hpp"
#include "handlers.hpp"
#include "health.hpp"
#include "inbox.hpp"
#include "inbox/memory.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "options.hpp"
#include "recovered_event.hpp"
#include "reply.hpp"
#include "scheme.hpp"
#include "stats.hpp"

namespace allthings::webhooks {

// Receives webhooks from any transport: given a request's method, headers and raw body it
// verifies, acknowledges and queues the event, and returns the reply to send; its workers run
// the handlers registered with on(). It owns the handlers, the inbox and the workers, and
// knows no HTTP server: WebhookEndpoint is a Receiver plus cpp-httplib, and another server, a
// serverless handler or a replay tool feeds a Receiver the same way. Thread-safe.
class Receiver {
 public:
  // Throws std::invalid_argument naming the field when an option is invalid. Without an inbox,
  // a MemoryInbox is used; the inbox is attached to this receiver (see Inbox::attach).
  explicit Receiver(Options options, std::shared_ptr<Inbox> inbox = nullptr)
      : options_(validated(std::move(options))),
        scheme_(options_.scheme(options_)),
        inbox_(inbox ? std::move(inbox) : std::make_shared<MemoryInbox>()),
        reporter_(std::make_shared<detail::Reporter>(
            registry_, counters_, detail::Logger(options_.log, options_.log_level))),
        pipeline_(options_, checked(scheme_), inbox_, reporter_),
        dispatcher_(std::make_shared<detail::Dispatcher>(
            detail::Dispatcher::Settings{
                options_.workers, options_.max_attempts, options_.retry_base_delay,
                options_.retry_max_delay,
                // An inbox that orders by key itself needs no lanes here (Inbox::orders_by_key).
                inbox_->orders_by_key() ? nullptr : options_.serialize_by},
            inbox_, registry_, reporter_)) {
    inbox_->attach(options_);
  }

  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  ~Receiver() { stop(); }

  // Typed handler: T is TicketCreated, TicketUpdated, ... or your own type with
  // `static constexpr const char* event_name` and `static T from_event(const Event&)`.
  template <class T, class F>
  Receiver& on(F&& handler) {
    static_assert(detail::is_event_type<T>::value,
                  "on<T> needs T::event_name and T::from_event(const Event&)");
    std::function<void(const T&)> typed(std::forward<F>(handler));
    return on(std::string(T::event_name),
              [typed = std::move(typed)](const Event& e) { typed(T::from_event(e)); });
  }

  // "ticket.created" (exact), "ticket.*" (prefix) or "*" (every event).
  Receiver& on(std::string pattern, EventHandler handler) {
    // An exact name becomes a label of the per-event metrics; patterns count as "other".
    if (pattern.find('*') == std::string::npos) counters_->events.add_name(pattern);
    registry_->update([&](HandlerTable& table) {
      table.entries.push_back({NamePattern(std::move(pattern)), std::move(handler)});
    });
    return *this;
  }

  Receiver& on_any(EventHandler handler) { return on("*", std::move(handler)); }

  // Verified and acknowledged events that no handler matched.
  Receiver& on_unhandled(EventHandler handler) {
    registry_->update([&](HandlerTable& table) { table.unhandled = std::move(handler); });
    return *this;
  }

  // Rejected requests and handler failures; called from HTTP threads and workers.
  Receiver& on_error(ErrorHandler handler) {
    registry_->update([&](HandlerTable& table) { table.error = std::move(handler); });
    return *this;
  }

  // One whole request: `method` as sent ("POST"), headers with names in any case, the body's
  // exact bytes. Returns what to answer; its headers() and close_connection say what else the
  // transport must do.
  Reply handle(std::string_view method, HeaderList headers, std::string body) {
    if (auto early = check_headers(method, headers)) return *early;
    return handle_body(std::move(headers), std::move(body));
  }

  // The first of two phases, for transports that read the headers before the body: counts the
  // request and answers at once when its method, Content-Length, Content-Type or
  // Content-Encoding is refused, or when the receiver is stopping. After such an answer the
  // body must not be read and the connection must be closed (close_connection is set).
  std::optional<Reply> check_headers(std::string_view method, const HeaderList& headers) {
    if (method != "POST") {
      report(ErrorKind::method_not_allowed, 405, "only POST is accepted on the webhook path");
      return replies::method_not_allowed.closing();
    }
    detail::Counters::bump(counters_->received);
    if (!gate_.is_open()) return refuse(ErrorKind::stopping, "receiver is stopping");
    const auto length = detail::parse_decimal(header(headers, "content-length"));
    if (length && *length > options_.max_body_bytes) {
      return refuse(ErrorKind::body_too_large, "Content-Length exceeds max_body_bytes");
    }
    const auto reading = scheme_->body_format().read_as(header(headers, "content-type"));
    if (reading == BodyFormat::Reading::unsupported) {
      return refuse(ErrorKind::unsupported_media_type, "Content-Type is not one the scheme reads");
    }
    // Decoding a compressed body would verify bytes other than the ones on the wire.
    const auto encoding = find_header(headers, "content-encoding");
    if (encoding && !detail::equals_ignoring_case(detail::trim(*encoding), "identity")) {
      return refuse(ErrorKind::unsupported_media_type, "Content-Encoding is not accepted");
    }
    return std::nullopt;
  }

  // The second phase, once the whole body is read: verify, parse, accept. Call it only after
  // check_headers() answered nothing, with the same headers. A body that arrives after stop()
  // began is refused (503); one that arrived before is accepted before stop() drains.
  Reply handle_body(HeaderList headers, std::string body) {
    const auto started = std::chrono::steady_clock::now();
    if (body.size() > options_.max_body_bytes) {
      return refuse(ErrorKind::body_too_large, "body is larger than max_body_bytes");
    }
    const detail::AdmissionGate::Pass pass(gate_);
    if (!pass) return refuse(ErrorKind::stopping, "receiver is stopping");
    for (auto& header : headers) {
      for (char& c : header.first) c = detail::lower_ascii(c);
    }
    // Only accept_recovered() may mark an event recovered.
    headers.erase(std::remove_if(headers.begin(), headers.end(),
                                 [](const auto& h) { return h.first == origin_header; }),
                  headers.end());
    Reply reply = pipeline_.handle(std::move(body), std::move(headers));
    counters_->acknowledgement.observe(std::chrono::steady_clock::now() - started);
    return reply;
  }

  // Accepts an event read back from the sender's delivery history (a Reconciler does this) the
  // way a delivery is accepted: the same inbox, id memory and handlers, so an event that
  // already arrived live is a duplicate and one recovered runs once, also when its live
  // delivery races with it. There is no signature to check: the caller read it over an
  // authenticated API. Handlers see Event::origin() == recovered. Returns unavailable once
  // the receiver is stopping, and whatever the inbox answers otherwise.
  Acceptance accept_recovered(const RecoveredEvent& event) {
    const detail::AdmissionGate::Pass pass(gate_);
    if (!pass) return Acceptance::unavailable;
    auto record = recovered_record(event);
    Acceptance acceptance = Acceptance::unavailable;
    try {
      acceptance = inbox_->accept(record);
    } catch (...) {
      acceptance = Acceptance::unavailable;
    }
    if (acceptance == Acceptance::accepted) detail::Counters::bump(counters_->accepted);
    if (acceptance == Acceptance::duplicate) detail::Counters::bump(counters_->duplicates);
    if (reporter_->logger().enabled(LogLevel::debug)) {
      log(LogLevel::debug, "recovered event offered to the inbox",
          {{"event.id", record->id},
           {"event.name", record->name},
           {"outcome", acceptance == Acceptance::accepted    ? "accepted"
                       : acceptance == Acceptance::duplicate ? "duplicate"
                                                             : "refused"}});
    }
    return acceptance;
  }

  // The inbox events are accepted into (a Reconciler asks it for a CursorStore).
  const std::shared_ptr<Inbox>& inbox() const { return inbox_; }

  // Reports a request the transport refused itself (kind: body_too_large while reading a
  // chunked body, unreadable_body, request_timeout, request_line_too_long, header_too_large,
  // malformed_request, internal_error) and returns the reply to send.
  Reply refuse(ErrorKind kind, const char* message) const {
    const Reply reply = reply_for(kind);
    report(kind, reply.status, message);
    return reply;
  }

  // Starts the workers; events accepted before wait in the inbox until then. Idempotent.
  // Throws std::logic_error once stopped.
  void start() {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (stopped_) throw std::logic_error("Receiver: a stopped receiver cannot start again");
    dispatcher_->start();
  }

  // From now on every request is answered 503 {"error":"stopping"}. stop() does this first; a
  // transport that closes its listener in between calls it itself.
  void stop_accepting() { gate_.close(); }

  // The first step of a graceful shutdown: readiness() turns "draining" (503) so that load
  // balancers stop routing here, while requests are still accepted as before. Idempotent.
  void begin_draining() {
    if (draining_.exchange(true)) return;
    log(LogLevel::info, "draining: readiness is 503 from now on", {});
  }

  // Whether webhooks should be routed here now: started, accepting, not draining, the inbox
  // writable and below queue_capacity. What /readyz answers.
  Readiness readiness() const {
    if (stopped()) return {false, "stopped"};
    if (!gate_.is_open()) return {false, "stopping"};
    if (draining_) return {false, "draining"};
    if (!dispatcher_->started()) return {false, "not_started"};
    if (!inbox_->writable()) return {false, "inbox_unavailable"};
    if (inbox_->depth() >= options_.queue_capacity) return {false, "queue_full"};
    return {true, "ready"};
  }

  // Everything measured so far, for any metrics system; /metrics serves the same figures.
  // Asks a durable inbox how many dead letters it holds, so it is not for the request path.
  Metrics metrics() const {
    return detail::collect_metrics(*counters_, *inbox_, options_, readiness());
  }

  // Writes a record through Options::log, when its level is enabled: for transports built on a
  // Receiver, so that their records go where the receiver's go.
  void log(LogLevel level, std::string_view message, const std::vector<LogField>& fields) const {
    reporter_->logger().log(level, message, fields);
  }

  // Stops accepting, lets queued and running events finish for up to drain_timeout, reports
  // each event it could not deliver through on_error (undelivered_at_stop) and returns.
  // Idempotent; safe from any thread but a handler's own.
  void stop() {
    std::lock_guard<std::mutex> stop_lock(stop_mutex_);
    {
      std::lock_guard<std::mutex> lock(lifecycle_mutex_);
      if (stopped_) return;
    }
    // Requests already past check_headers() finish their accept first: each 200 they get is
    // then dispatched or reported below.
    gate_.close_and_wait();
    const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
    for (const auto& record : dispatcher_->stop(deadline)) {
      reporter_->report(Error{ErrorKind::undelivered_at_stop, 0,
                              "event was acknowledged but not delivered before stop", record->id,
                              record->name});
    }
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    stopped_ = true;
  }

  bool stopped() const {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    return stopped_;
  }

  Stats stats() const { return counters_->snapshot(inbox_->depth()); }

  const Options& options() const { return options_; }
  const Scheme& scheme() const { return *scheme_; }

 private:
  static Options validated(Options options) {
    detail::validate(options);
    return options;
  }

  static std::shared_ptr<const Scheme> checked(std::shared_ptr<const Scheme> scheme) {
    if (!scheme) throw std::invalid_argument("Options.scheme built no scheme");
    return scheme;
  }

  // The event as an envelope at this receiver's JSON pointers, so that a durable inbox that
  // parses stored bodies again after a restart finds the same id, name and data.
  std::shared_ptr<const EventRecord> recovered_record(const RecoveredEvent& event) const {
    const EnvelopePaths& paths = detail::envelope_for(*scheme_, options_);
    nlohmann::json body = nlohmann::json::object();
    using Pointer = nlohmann::json::json_pointer;
    body[Pointer(paths.id)] = event.id;
    body[Pointer(paths.name)] = event.name;
    if (!event.urn.empty()) body[Pointer(paths.urn)] = event.urn;
    if (!event.created_date.empty()) body[Pointer(paths.created_date)] = event.created_date;
    body[Pointer(paths.data)] = event.data;
    auto record = std::make_shared<EventRecord>();
    record->id = event.id;
    record->name = event.name;
    record->urn = event.urn;
    record->created_date = event.created_date;
    record->raw_body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    record->headers = {{std::string(origin_header), "recovered"},
                       {"content-type", "application/json"}};
    record->received_at = options_.clock();
    record->origin = EventOrigin::recovered;
    record->data_path = std::make_shared<const Pointer>(paths.data);
    return record;
  }

  static std::string_view header(const HeaderList& headers, std::string_view name) {
    return find_header(headers, name).value_or(std::string_view());
  }

  static Reply reply_for(ErrorKind kind) {
    switch (kind) {
      case ErrorKind::body_too_large: return replies::body_too_large.closing();
      case ErrorKind::unsupported_media_type: return replies::unsupported_media_type.closing();
      case ErrorKind::unreadable_body: return replies::unreadable_body.closing();
      case ErrorKind::request_timeout: return replies::request_timeout.closing();
      case ErrorKind::request_line_too_long: return replies::request_line_too_long.closing();
      case ErrorKind::header_too_large: return replies::header_too_large.closing();
      case ErrorKind::malformed_request: return replies::malformed_request.closing();
      case ErrorKind::stopping: return replies::stopping.closing();
      case ErrorKind::method_not_allowed: return replies::method_not_allowed.closing();
      default: return replies::internal_error;
    }
  }

  void report(ErrorKind kind, int status, const char* message) const {
    reporter_->report(Error{kind, status, message});
  }

  const Options options_;
  const std::shared_ptr<const Scheme> scheme_;
  std::shared_ptr<detail::HandlerRegistry> registry_ = std::make_shared<detail::HandlerRegistry>();
  std::shared_ptr<detail::Counters> counters_ = std::make_shared<detail::Counters>();
  std::shared_ptr<Inbox> inbox_;
  std::shared_ptr<const detail::Reporter> reporter_;
  detail::RequestPipeline pipeline_;
  std::shared_ptr<detail::Dispatcher> dispatcher_;
  std::atomic<bool> draining_{false};
  detail::AdmissionGate gate_;
  std::mutex stop_mutex_;
  mutable std::mutex lifecycle_mutex_;
  bool stopped_ = false;
};

}  // namespace allthings::webhooks
