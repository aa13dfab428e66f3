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
    detail::configure_server(*server_, receiver_->options());
    detail::mount_routes(*server_, receiver_);

    const int bound = port == 0 ? server_->bind_to_any_port(host)
                                : (server_->bind_to_port(host, port) ? port : -1);
    if (bound < 0) {
      server_.reset();
      throw std::runtime_error("WebhookEndpoint: cannot listen on " + host + ":" +
                               std::to_string(port));
    }
    receiver_->start();
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
    detail::mount_routes(server, receiver_);
    receiver_->start();
  }

  // Stops accepting, closes the server, lets queued events finish for up to drain_timeout,
  // reports each event it could not deliver through on_error (undelivered_at_stop) and
  // returns. Idempotent; safe from any thread but a handler's own.
  void stop() {
    std::lock_guard<std::mutex> stop_lock(stop_mutex_);
    {
      std::lock_guard<std::mutex> lock(lifecycle_mutex_);
      if (stopped_) return;
    }
    receiver_->stop_accepting();
    if (server_) {
      server_->stop();
      if (server_thread_.joinable()) server_thread_.join();
    }
    receiver_->stop();
    {
      std::lock_guard<std::mutex> lock(lifecycle_mutex_);
      stopped_ = true;
    }
    stopped_cv_.notify_all();
  }

  Stats stats() const { return receiver_->stats(); }
  const Options& options() const { return receiver_->options(); }

  // The transport-free core, e.g. to feed it requests from elsewhere too.
  Receiver& receiver() { return *receiver_; }

 private:
  std::shared_ptr<Receiver> receiver_;
  std::mutex stop_mutex_;
  std::mutex lifecycle_mutex_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
  std::unique_ptr<httplib::Server> server_;
  std::thread server_thread_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace allthings::webhooks
