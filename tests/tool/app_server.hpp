#pragma once

// The application behind `serve --forward`: a small HTTP server that records what reaches it
// and can be told to fail the first requests for an event.
#include <httplib.h>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test {

class AppServer {
 public:
  // Each event id gets `failures_per_event` answers of 503 before a 200.
  explicit AppServer(int failures_per_event = 0) : failures_(failures_per_event) {
    server_.Post("/events", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto id = request.get_header_value("x-allthings-event-id");
      const int seen = ++attempts_[id];
      if (seen <= failures_) {
        response.status = 503;
        return;
      }
      deliveries_.push_back({id, request.body, request.get_header_value("x-allthings-signature"),
                             request.get_header_value("content-type")});
      response.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  AppServer(const AppServer&) = delete;
  AppServer& operator=(const AppServer&) = delete;
  ~AppServer() {
    server_.stop();
    thread_.join();
  }

  struct Delivery {
    std::string id;
    std::string body;
    std::string signature;
    std::string content_type;
  };

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/events"; }

  std::vector<Delivery> deliveries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return deliveries_;
  }

  int attempts(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = attempts_.find(id);
    return found == attempts_.end() ? 0 : found->second;
  }

 private:
  httplib::Server server_;
  int failures_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, int> attempts_;
  std::vector<Delivery> deliveries_;
};

}  // namespace test
