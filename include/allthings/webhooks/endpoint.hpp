#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <httplib.h>

#include "detail/http/server.hpp"
#include "detail/core/reporter.hpp"
#include "detail/core/dispatcher.hpp"
#include "handlers.hpp"
#include "inbox.hpp"
#include "inbox/memory.hpp"
#include "options.hpp"
#include "detail/core/pipeline.hpp"
#include "stats.hpp"

namespace allthings::webhooks {

namespace detail {

template <class T, class = void>
struct is_event_type : std::false_type {};
template <class T>
struct is_event_type<T, std::void_t<decltype(std::string(T::event_name)),
                                    decltype(T::from_event(std::declval<const Event&>()))>>
    : std::true_type {};

inline void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("Options." + message);
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
  require(o.http_threads > 0, "http_threads must be at least 1");
  require(o.keep_alive_max_count > 0, "keep_alive_max_count must be at least 1");
  require(o.keep_alive_timeout.count() > 0, "keep_alive_timeout must be positive");
  require(o.read_timeout.count() > 0, "read_timeout must be positive");
  require(o.write_timeout.count() > 0, "write_timeout must be positive");
}

// Everything a request or a worker touches. Routes and workers hold it by shared_ptr, so a
// route left on an application's server after the endpoint is gone answers 503, not a crash.
struct EndpointCore {
  EndpointCore(Options opts, std::shared_ptr<Inbox> box)
      : options(std::move(opts)),
        inbox(box ? std::move(box)
                  : std::make_shared<MemoryInbox>(MemoryInbox::limits_from(options))),
        reporter(std::make_shared<Reporter>(registry, counters)),
        pipeline(options, inbox, reporter),
        dispatcher(std::make_shared<Dispatcher>(
            Dispatcher::Settings{options.workers, options.max_attempts, options.retry_base_delay,
                                 options.retry_max_delay, options.serialize_by},
            inbox, registry, reporter)) {}

  void handle_post(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& read_content) {
    Counters::bump(counters->received);
    if (!accepting) return answer(res, ErrorKind::stopping, replies::stopping, "endpoint stopped");

    // Lower-case names, so each header below is found by a plain comparison: httplib's own
    // lookups compare case-insensitively through tolower() and copy the value.
    HeaderList headers = lower_case_headers(req.headers);
    auto header = [&headers](std::string_view name) {
      return RequestPipeline::find_header(headers, name).value_or(std::string_view());
    };
    const auto length = content_length(header("content-length"));
    if (length && *length > options.max_body_bytes) {
      return answer_and_close(res, ErrorKind::body_too_large, replies::body_too_large,
                              "Content-Length exceeds max_body_bytes");
    }
    const auto content_type = header("content-type");  // empty when absent
    if (!trim(content_type).empty() && !is_json_media_type(content_type)) {
      return answer_and_close(res, ErrorKind::unsupported_media_type,
                              replies::unsupported_media_type, "Content-Type is not JSON");
    }
    // Decoding a compressed body would verify bytes other than the ones on the wire.
    const auto encoding = RequestPipeline::find_header(headers, "content-encoding");
    if (encoding && !equals_ignoring_case(trim(*encoding), "identity")) {
      return answer_and_close(res, ErrorKind::unsupported_media_type,
                              replies::unsupported_media_type, "Content-Encoding is not accepted");
    }

    std::string body;
    body.reserve(static_cast<std::size_t>(length.value_or(0)));
    bool too_large = false;
    const bool complete = read_content([&](const char* data, std::size_t size) {
      if (body.size() + size > options.max_body_bytes) {
        too_large = true;
        return false;
      }
      body.append(data, size);
      return true;
    });
    // cpp-httplib 0.53 enforces its payload limit itself and answers 413 for us.
    if (too_large || res.status == 413) {
      return answer_and_close(res, ErrorKind::body_too_large, replies::body_too_large,
                              "body grew over max_body_bytes");
    }
    if (!complete) {
      return answer_and_close(res, ErrorKind::unreadable_body, replies::unreadable_body,
                              "request body could not be read");
    }
    write_reply(res, pipeline.handle(std::move(body), std::move(headers)));
  }

  void answer(httplib::Response& res, ErrorKind kind, const Reply& reply,
              const char* message) const {
    reporter->report(Error{kind, reply.status, message});
    write_reply(res, reply);
  }

  // For answers sent before the body was read: the unread rest must not be taken for the next
  // request on a keep-alive connection.
  void answer_and_close(httplib::Response& res, ErrorKind kind, const Reply& reply,
                        const char* message) const {
    answer(res, kind, reply, message);
    res.set_header("Connection", "close");
  }

  Options options;
  std::shared_ptr<HandlerRegistry> registry = std::make_shared<HandlerRegistry>();
  std::shared_ptr<Counters> counters = std::make_shared<Counters>();
  std::shared_ptr<Inbox> inbox;
  std::shared_ptr<const Reporter> reporter;
  RequestPipeline pipeline;
  std::shared_ptr<Dispatcher> dispatcher;
  std::atomic<bool> accepting{true};
};

}  // namespace detail

// Receives Allthings webhooks: verifies, acknowledges, de-duplicates and dispatches typed
// events to the handlers registered with on(). See README.md for the threading contract.
class WebhookEndpoint {
 public:
  // Throws std::invalid_argument naming the field when an option is invalid. Without an inbox,
  // a MemoryInbox sized by the options is used.
  explicit WebhookEndpoint(Options options, std::shared_ptr<Inbox> inbox = nullptr)
      : core_(make_core(std::move(options), std::move(inbox))) {}

  WebhookEndpoint(const WebhookEndpoint&) = delete;
  WebhookEndpoint& operator=(const WebhookEndpoint&) = delete;

  ~WebhookEndpoint() { stop(); }

  // Typed handler: T is TicketCreated, TicketUpdated, ... or your own type with
  // `static constexpr const char* event_name` and `static T from_event(const Event&)`.
  template <class T, class F>
  WebhookEndpoint& on(F&& handler) {
    static_assert(detail::is_event_type<T>::value,
                  "on<T> needs T::event_name and T::from_event(const Event&)");
    std::function<void(const T&)> typed(std::forward<F>(handler));
    return on(std::string(T::event_name),
              [typed = std::move(typed)](const Event& e) { typed(T::from_event(e)); });
  }

  // "ticket.created" (exact), "ticket.*" (prefix) or "*" (every event).
  WebhookEndpoint& on(std::string pattern, EventHandler handler) {
    core_->registry->update([&](HandlerTable& table) {
      table.entries.push_back({NamePattern(std::move(pattern)), std::move(handler)});
    });
    return *this;
  }

  WebhookEndpoint& on_any(EventHandler handler) { return on("*", std::move(handler)); }

  // Verified and acknowledged events that no handler matched.
  WebhookEndpoint& on_unhandled(EventHandler handler) {
    core_->registry->update([&](HandlerTable& table) { table.unhandled = std::move(handler); });
    return *this;
  }

  // Rejected requests and handler failures; called from HTTP threads and workers.
  WebhookEndpoint& on_error(ErrorHandler handler) {
    core_->registry->update([&](HandlerTable& table) { table.error = std::move(handler); });
    return *this;
  }

  // Serves on host:port until stop() is called from another thread (or a signal handler's
  // thread). Throws std::runtime_error when the address cannot be bound.
  void listen(const std::string& host, int port) {
    start(host, port);
    std::unique_lock<std::mutex> lock(lifecycle_mutex_);
    stopped_cv_.wait(lock, [this] { return stopped_; });
  }

  // Starts serving in the background and returns the bound port (port 0: an ephemeral one)
  // once the server accepts connections.
  int start(const std::string& host, int port = 0) {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (stopped_) throw std::logic_error("WebhookEndpoint: a stopped endpoint cannot start again");
    if (server_) throw std::logic_error("WebhookEndpoint: already started");
    server_ = std::make_unique<httplib::Server>();
    detail::configure_server(*server_, core_->options);
    mount_routes(*server_);

    const int bound = port == 0 ? server_->bind_to_any_port(host)
                                : (server_->bind_to_port(host, port) ? port : -1);
    if (bound < 0) {
      server_.reset();
      throw std::runtime_error("WebhookEndpoint: cannot listen on " + host + ":" +
                               std::to_string(port));
    }
    core_->dispatcher->start();
    // Binding happened here, so a stop() from now on is never lost (cpp-httplib 0.11 ignores a
    // stop() that comes before the accept loop runs).
    server_thread_ = std::thread([this] {
      server_->listen_after_bind();
      listen_returned_ = true;
    });
    while (!server_->is_running() && !listen_returned_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return bound;
  }

  // Adds the webhook route to an application's own server; its other routes are untouched.
  // Sets no server-wide option: give that server a payload limit and an exception handler.
  void mount(httplib::Server& server) {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (stopped_) throw std::logic_error("WebhookEndpoint: a stopped endpoint cannot mount");
    mount_routes(server);
    core_->dispatcher->start();
  }

  // Stops accepting, lets queued events finish for up to drain_timeout, reports each event it
  // could not deliver through on_error (undelivered_at_stop) and returns. Idempotent; safe from
  // any thread but a handler's own.
  void stop() {
    std::lock_guard<std::mutex> stop_lock(stop_mutex_);
    {
      std::lock_guard<std::mutex> lock(lifecycle_mutex_);
      if (stopped_) return;
    }
    core_->accepting = false;
    if (server_) {
      server_->stop();
      if (server_thread_.joinable()) server_thread_.join();
    }
    const auto deadline = std::chrono::steady_clock::now() + core_->options.drain_timeout;
    for (const auto& record : core_->dispatcher->stop(deadline)) {
      core_->reporter->report(Error{ErrorKind::undelivered_at_stop, 0,
                                    "event was acknowledged but not delivered before stop",
                                    record->id, record->name});
    }
    {
      std::lock_guard<std::mutex> lock(lifecycle_mutex_);
      stopped_ = true;
    }
    stopped_cv_.notify_all();
  }

  Stats stats() const { return core_->counters->snapshot(core_->inbox->depth()); }

  const Options& options() const { return core_->options; }

 private:
  static std::shared_ptr<detail::EndpointCore> make_core(Options options,
                                                         std::shared_ptr<Inbox> inbox) {
    detail::validate(options);
    return std::make_shared<detail::EndpointCore>(std::move(options), std::move(inbox));
  }

  void mount_routes(httplib::Server& server) {
    const std::string route = detail::escape_regex(core_->options.path);
    auto core = core_;
    server.Post(route, [core](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
      try {
        core->handle_post(req, res, reader);
      } catch (...) {
        core->answer(res, ErrorKind::internal_error, replies::internal_error,
                     "unexpected failure while handling a request");
      }
    });
    auto refuse_method = [core](const httplib::Request&, httplib::Response& res) {
      core->answer(res, ErrorKind::method_not_allowed, replies::method_not_allowed,
                   "only POST is accepted on the webhook path");
      res.set_header("Allow", "POST");
    };
    // Content-reader variants, so a refused request's body is never read.
    auto refuse_method_with_body = [refuse_method](const httplib::Request& req,
                                                   httplib::Response& res,
                                                   const httplib::ContentReader&) {
      refuse_method(req, res);
      res.set_header("Connection", "close");
    };
    server.Get(route, refuse_method);
    server.Options(route, refuse_method);
    server.Put(route, refuse_method_with_body);
    server.Patch(route, refuse_method_with_body);
    server.Delete(route, refuse_method_with_body);
  }

  std::shared_ptr<detail::EndpointCore> core_;
  std::mutex stop_mutex_;
  std::mutex lifecycle_mutex_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
  std::unique_ptr<httplib::Server> server_;
  std::thread server_thread_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace allthings::webhooks
