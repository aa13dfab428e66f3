#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <httplib.h>

#include "detail/http/guarded_server.hpp"
#include "detail/http/listener.hpp"
#include "detail/http/probes.hpp"
#include "detail/http/server.hpp"
#include "detail/http/tls.hpp"
#include "detail/process/signals.hpp"
#include "detail/process/thread_name.hpp"
#include "handlers.hpp"
#include "health.hpp"
#include "inbox.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "options.hpp"
#include "receiver.hpp"
#include "stats.hpp"

namespace allthings::webhooks {

// Receives Allthings webhooks over HTTP: a Receiver (verify, acknowledge, de-duplicate,
// dispatch typed events to the handlers registered with on()) served by cpp-httplib. See
// README.md for the threading contract.
class WebhookEndpoint {
 public:
  // Throws std::invalid_argument naming the field when an option is invalid, also when
  // Options::tls names a certificate or key that cannot be loaded. Without an inbox, a
  // MemoryInbox is used.
  explicit WebhookEndpoint(Options options, std::shared_ptr<Inbox> inbox = nullptr)
      : receiver_(std::make_shared<Receiver>(std::move(options), std::move(inbox))) {
    detail::validate_tls_files(receiver_->options());
  }

  WebhookEndpoint(const WebhookEndpoint&) = delete;
  WebhookEndpoint& operator=(const WebhookEndpoint&) = delete;

  ~WebhookEndpoint() {
    stop_watching_signals();
    stop();
    if (shutdown_thread_.joinable()) shutdown_thread_.join();
  }

  // Handlers, as Receiver's.
  template <class T, class F>
  WebhookEndpoint& on(F&& handler) {
    receiver_->on<T>(std::forward<F>(handler));
    return *this;
  }
  WebhookEndpoint& on(std::string pattern, EventHandler handler) {
    receiver_->on(std::move(pattern), std::move(handler));
    return *this;
  }
  WebhookEndpoint& on_any(EventHandler handler) {
    receiver_->on_any(std::move(handler));
    return *this;
  }
  WebhookEndpoint& on_unhandled(EventHandler handler) {
    receiver_->on_unhandled(std::move(handler));
    return *this;
  }
  WebhookEndpoint& on_error(ErrorHandler handler) {
    receiver_->on_error(std::move(handler));
    return *this;
  }

  // Serves on host:port until the endpoint is stopped: by stop() from another thread, by
  // shutdown_gracefully(), or by SIGTERM/SIGINT after stop_on_signals(). Throws
  // std::runtime_error when the address cannot be bound (or TLS cannot be set up).
  void listen(const std::string& host, int port) {
    start(host, port);
    wait();
  }

  // Blocks until the endpoint is stopped (see listen()).
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    stopped_cv_.wait(lock, [this] { return state_ == State::stopped; });
  }

  // Starts serving in the background and returns the bound port (port 0: an ephemeral one)
  // once the server accepts connections. Throws std::logic_error when started or stopped
  // before, std::runtime_error when the address cannot be bound.
  int start(const std::string& host, int port = 0) {
    // Held until the server runs: a stop() on another thread waits, and is never lost
    // (cpp-httplib 0.11 ignores a stop() that comes before its accept loop runs).
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ != State::open) {
      throw std::logic_error("WebhookEndpoint: a stopped endpoint cannot start again");
    }
    if (server_) throw std::logic_error("WebhookEndpoint: already started");
    const Options& options = receiver_->options();
    auto server = make_server();
    listening_socket_.watch(*server);
    detail::mount_routes(*server, receiver_);
    detail::mount_operations(*server, receiver_);

    const int bound =
        port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
    if (bound < 0) {
      throw std::runtime_error("WebhookEndpoint: cannot listen on " + host + ":" +
                               std::to_string(port));
    }
    if (!listening_socket_.set_backlog(options.listen_backlog)) {
      receiver_->log(LogLevel::warning, "cannot set the listen backlog",
                     {{"listen_backlog", options.listen_backlog}});
    }
    receiver_->start();
    server_ = std::move(server);
    server_thread_ = std::thread([server = server_.get(), &returned = listen_returned_] {
      detail::name_this_thread("aw-accept");
      server->listen_after_bind();
      returned = true;
    });
    while (!server_->is_running() && !listen_returned_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!server_->is_running()) {
      server_thread_.join();
      server_.reset();
      throw std::runtime_error("WebhookEndpoint: cannot serve on " + host + ":" +
                               std::to_string(bound));
    }
    receiver_->log(LogLevel::info, "listening",
                   {{"server.address", host},
                    {"server.port", bound},
                    {"url.scheme", options.tls.enabled() ? "https" : "http"}});
    return bound;
  }

  // Adds the webhook route to an application's own server; its other routes are untouched.
  // Sets no server-wide option: give that server a payload limit and an exception handler.
  // The head budget and deadlines of listen()/start() do not apply there.
  void mount(httplib::Server& server) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ != State::open) {
      throw std::logic_error("WebhookEndpoint: a stopped endpoint cannot mount");
    }
    detail::mount_routes(server, receiver_);
    receiver_->start();
  }

  // Adds the operations routes of Options::operations (/livez, /readyz, /metrics) to an
  // application's own server: the one the webhook is mounted on, or another, e.g. on an
  // internal port. Sets no server-wide option.
  void mount_operations(httplib::Server& server) { detail::mount_operations(server, receiver_); }

  // Stops the way Kubernetes expects, without blocking: readiness turns 503 at once, webhooks
  // are still served for Options::drain_delay (load balancers take a moment to notice), then
  // stop(): the listener closes, requests in flight finish, workers drain for drain_timeout.
  // listen() and wait() return once that is done. Idempotent.
  void shutdown_gracefully() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ != State::open || shutdown_thread_.joinable()) return;
    receiver_->begin_draining();
    shutdown_thread_ = std::thread([this] {
      detail::name_this_thread("aw-shutdown");
      {
        std::unique_lock<std::mutex> wait_lock(mutex_);
        drain_cv_.wait_for(wait_lock, receiver_->options().drain_delay,
                           [this] { return state_ != State::open; });
      }
      stop();
    });
  }

  // From now on SIGTERM and SIGINT call shutdown_gracefully(); so `stop_on_signals();
  // listen(host, port);` serves until a signal and returns once drained. The signal handler
  // only writes to a pipe (async-signal-safe); the work happens on a thread of its own. The
  // previous handlers come back when the endpoint is destroyed. Idempotent.
  void stop_on_signals() {
    std::lock_guard<std::mutex> lock(signals_mutex_);
    if (signal_subscription_ != 0) return;
    signal_subscription_ = detail::SignalWatcher::instance().subscribe([this](int signal_number) {
      receiver_->log(LogLevel::info, "signal received: shutting down gracefully",
                     {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
      shutdown_gracefully();
    });
  }

  // Stops accepting, closes the server, lets queued events finish for up to drain_timeout,
  // reports each event it could not deliver through on_error (undelivered_at_stop) and
  // returns. Idempotent; safe from any thread but a handler's own. From the moment it begins,
  // start() and mount() throw and every request is answered 503 {"error":"stopping"}.
  void stop() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (state_ != State::open) {
      stopped_cv_.wait(lock, [this] { return state_ == State::stopped; });
      return;
    }
    state_ = State::stopping;
    drain_cv_.notify_all();
    receiver_->stop_accepting();
    receiver_->log(LogLevel::info, "stopping: requests are refused from now on", {});
    if (server_) {
      server_->stop();
      server_thread_.join();
      receiver_->log(LogLevel::info, "listener closed: requests in flight answered", {});
    }
    receiver_->stop();
    receiver_->log(LogLevel::info, "stopped: workers drained",
                   {{"queue_depth", receiver_->stats().queue_depth}});
    state_ = State::stopped;
    stopped_cv_.notify_all();
  }

  Stats stats() const { return receiver_->stats(); }
  Metrics metrics() const { return receiver_->metrics(); }
  Readiness readiness() const { return receiver_->readiness(); }
  const Options& options() const { return receiver_->options(); }

  // The transport-free core, e.g. to feed it requests from elsewhere too.
  Receiver& receiver() { return *receiver_; }

 private:
  enum class State { open, stopping, stopped };

  // Plain HTTP: the guarded server (head budget, deadlines, no thread for slow heads). HTTPS:
  // cpp-httplib's SSLServer, a pool thread per connection (see docs/security.md).
  std::unique_ptr<httplib::Server> make_server() const {
    const Options& options = receiver_->options();
    std::unique_ptr<httplib::Server> server;
    if (options.tls.enabled()) {
      server = detail::make_tls_server(options.tls);
      const auto threads = options.http_threads;
      // Called on the aw-accept thread; the pool's threads take the name it has meanwhile.
      server->new_task_queue = [threads] {
        detail::name_this_thread("aw-http");
        auto* pool = new httplib::ThreadPool(threads);
        detail::name_this_thread("aw-accept");
        return pool;
      };
    } else {
      auto receiver = receiver_;
      server = std::make_unique<detail::GuardedServer>(
          detail::guard_settings(options),
          [receiver](ErrorKind kind, const char* reason) { return receiver->refuse(kind, reason); });
    }
    detail::configure_server(*server, options);
    return server;
  }

  void stop_watching_signals() {
    std::lock_guard<std::mutex> lock(signals_mutex_);
    if (signal_subscription_ == 0) return;
    detail::SignalWatcher::instance().unsubscribe(signal_subscription_);
    signal_subscription_ = 0;
  }

  std::shared_ptr<Receiver> receiver_;
  std::mutex mutex_;  // held by start() until it serves, and by stop() until it returns
  std::condition_variable stopped_cv_;
  std::condition_variable drain_cv_;  // wakes a graceful shutdown's drain_delay early
  State state_ = State::open;
  std::thread shutdown_thread_;
  // Apart from mutex_, which a signal's call takes while the watcher holds its own.
  std::mutex signals_mutex_;
  std::uint64_t signal_subscription_ = 0;
  detail::ListeningSocket listening_socket_;
  std::unique_ptr<httplib::Server> server_;
  std::thread server_thread_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace allthings::webhooks
