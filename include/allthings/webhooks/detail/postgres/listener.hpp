#pragma once

// LISTEN on a connection of its own, and turn each NOTIFY of another replica into a hint for
// the lease keeper (this replica's own commits hint it directly). Only a hint: a notification
// lost while the connection was down costs at most one poll interval, and every (re)connect
// is itself taken as a hint.
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../process/thread_name.hpp"
#include "session.hpp"
#include "statements.hpp"

namespace allthings::webhooks::detail::pg {

class NotificationListener {
 public:
  // `replica`: this replica's name, the payload of its own notifications.
  NotificationListener(Session session, std::string channel, std::string replica,
                       std::function<void()> on_notify)
      : session_(std::move(session)),
        channel_(std::move(channel)),
        replica_(std::move(replica)),
        on_notify_(std::move(on_notify)),
        thread_([this] {
          name_this_thread("aw-pg-listen");
          listen();
        }) {}

  NotificationListener(const NotificationListener&) = delete;
  NotificationListener& operator=(const NotificationListener&) = delete;

  ~NotificationListener() {
    stopping_ = true;
    thread_.join();  // within one wait (250 ms) or one connect
  }

 private:
  static constexpr std::chrono::milliseconds wait_step{250};

  void listen() {
    bool listening = false;
    while (!stopping_) {
      try {
        Connection& connection = session_.connected();
        if (!listening) {
          std::vector<Statement> listen{{"", "LISTEN " + quoted_identifier(channel_), {}}};
          session_.run(listen);
          listening = true;
          on_notify_();  // what was sent while we did not listen
        }
        connection.wait_for_input(SteadyClock::now() + wait_step);
        if (connection.take_notifications(replica_) > 0) on_notify_();
      } catch (const Error&) {
        listening = false;
        session_.reset();
        std::this_thread::sleep_for(wait_step);
      }
    }
  }

  Session session_;  // the listener thread's only
  const std::string channel_;
  const std::string replica_;
  const std::function<void()> on_notify_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace allthings::webhooks::detail::pg
