#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <httplib.h>

#include "detail/http/guarded_server.hpp"
#include "detail/http/server.hpp"
#include "handlers.hpp"
#include "inbox.hpp"
#include "options.hpp"
#include "receiver.hpp"
#include "stats.hpp"

namespace allthings::webhooks {

// Receives Allthings webhooks over HTTP: a Receiver (verify, acknowledge, de-duplicate,
// dispatch typed events to the handlers registered with on()) served by cpp-httplib. See
// README.md for the threading contract.
class WebhookEndpoint {
 public:
  // Throws std::invalid_argument naming the field when an option is invalid. Without an inbox,
  // a MemoryInbox is used.
  explicit WebhookEndpoint(Options options, std::shared_ptr<Inbox> inbox = nullptr)
      : receiver_(std::make_shared<Receiver>(std::move(options), std::move(inbox))) {}

  WebhookEndpoint(const WebhookEndpoint&) = delete;
  WebhookEndpoint& operator=(const WebhookEndpoint&) = delete;

  ~WebhookEndpoint() { stop(); }

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

  // Serves on host:port until stop() is called from another thread (or a signal handler's
  // thread). Throws std::runtime_error when the address cannot be bound.
  void listen(const std::string& host, int port) {
    start(host, port);
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
    auto receiver = receiver_;
    auto server = std::make_unique<detail::GuardedServer>(
        detail::guard_settings(receiver_->options()),
        [receiver](ErrorKind kind, const char* reason) { return receiver->refuse(kind, reason); });
    detail::configure_server(*server, receiver_->options());
    detail::mount_routes(*server, receiver_);

    const int bound =
        port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
    if (bound < 0) {
      throw std::runtime_error("WebhookEndpoint: cannot listen on " + host + ":" +
                               std::to_string(port));
    }
    server->widen_accept_queue();
    receiver_->start();
    server_ = std::move(server);
    server_thread_ = std::thread([server = server_.get(), &returned = listen_returned_] {
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
    receiver_->stop_accepting();
    if (server_) {
      server_->stop();
      server_thread_.join();
    }
    receiver_->stop();
    state_ = State::stopped;
    stopped_cv_.notify_all();
  }

  Stats stats() const { return receiver_->stats(); }
  const Options& options() const { return receiver_->options(); }

  // The transport-free core, e.g. to feed it requests from elsewhere too.
  Receiver& receiver() { return *receiver_; }

 private:
  enum class State { open, stopping, stopped };

  std::shared_ptr<Receiver> receiver_;
  std::mutex mutex_;  // held by start() until it serves, and by stop() until it returns
  std::condition_variable stopped_cv_;
  State state_ = State::open;
  std::unique_ptr<detail::GuardedServer> server_;
  std::thread server_thread_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace allthings::webhooks
