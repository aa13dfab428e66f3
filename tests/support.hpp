#pragma once

// Shared pieces of the loopback HTTP tests: a running endpoint on an ephemeral port, a client,
// signed deliveries, a settable clock, and waiting for a condition with a deadline.
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sigpipe.hpp"

using namespace std::chrono_literals;  // test code only

namespace test {

namespace aw = allthings::webhooks;
using namespace std::chrono_literals;

inline const std::string secret = "whsec_test_secret";

// A wall clock the test moves by hand.
class ManualClock {
 public:
  ManualClock() : now_(std::chrono::system_clock::now()) {}
  aw::Clock clock() {
    return [this] {
      std::lock_guard<std::mutex> lock(mutex_);
      return now_;
    };
  }
  std::chrono::system_clock::time_point now() {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
  }
  void advance(std::chrono::system_clock::duration by) {
    std::lock_guard<std::mutex> lock(mutex_);
    now_ += by;
  }

 private:
  std::mutex mutex_;
  std::chrono::system_clock::time_point now_;
};

// Polls `condition` until it holds or `limit` passes; the limit only bounds a failing test.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = 5000ms) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Holds handlers until the test releases them, and tells how many are waiting.
class Latch {
 public:
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    cv_.wait(lock, [this] { return released_; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }
  int entered() {
    std::lock_guard<std::mutex> lock(mutex_);
    return entered_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
  int entered_ = 0;
};

// Thread-safe record of what handlers and on_error saw.
class Recorder {
 public:
  void event(const aw::Event& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(e);
  }
  void error(const aw::Error& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.push_back(e);
  }
  std::vector<aw::Event> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }
  std::vector<aw::Error> errors() {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }
  std::size_t event_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_.size();
  }
  bool saw_error(aw::ErrorKind kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& e : errors_) {
      if (e.kind == kind) return true;
    }
    return false;
  }

 private:
  std::mutex mutex_;
  std::vector<aw::Event> events_;
  std::vector<aw::Error> errors_;
};

inline aw::Options options() {
  aw::Options o;
  o.secrets = {secret};
  o.workers = 2;
  o.retry_base_delay = 5ms;
  o.retry_max_delay = 50ms;
  o.drain_timeout = 2s;
  return o;
}

// An endpoint serving on 127.0.0.1 with a Recorder wired to on_any and on_error.
struct Server {
  explicit Server(aw::Options opts = options(), std::shared_ptr<aw::Inbox> inbox = nullptr)
      : endpoint(std::move(opts), std::move(inbox)) {
    endpoint.on_error([this](const aw::Error& e) { recorder.error(e); });
  }

  // Starts serving; call after registering handlers.
  Server& start() {
    port = endpoint.start("127.0.0.1", 0);
    return *this;
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    return c;
  }

  httplib::Result post(const std::string& body, const httplib::Headers& headers) const {
    return client().Post(endpoint.options().path.c_str(), headers, body, "application/json");
  }

  httplib::Result post_signed(const std::string& body,
                              std::chrono::system_clock::time_point at =
                                  std::chrono::system_clock::now()) const {
    return post(body, aw::testing::signed_headers(body, secret, at));
  }

  Recorder recorder;
  aw::WebhookEndpoint endpoint;
  int port = 0;
};

inline std::string body(const std::string& id, const std::string& name = "ticket.created",
                        const nlohmann::json& data = {{"id", "T-1"}, {"title", "Leak"}}) {
  return aw::testing::envelope_body(id, name, data);
}

inline int status_of(const httplib::Result& result) { return result ? result->status : -1; }

}  // namespace test
