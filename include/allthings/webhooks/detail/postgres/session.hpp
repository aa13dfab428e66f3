#pragma once

// A connection that comes back by itself. It connects on first use and again after the
// connection broke, but no more often than its back-off allows (100 ms, doubling to 1 s), so a
// database that is down or restarting is not hammered and callers meanwhile fail at once
// instead of each waiting for a connect. Not thread-safe: each user thread owns its session.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connection.hpp"

namespace allthings::webhooks::detail::pg {

class Session {
 public:
  // `round_trip_timeout` bounds each round trip (the statement time-out plus the network's
  // share); a connect is bounded by settings.connect_timeout.
  Session(ConnectSettings settings, std::chrono::milliseconds round_trip_timeout)
      : settings_(std::move(settings)), round_trip_timeout_(round_trip_timeout) {}

  // Runs the statements in one round trip (see Connection::run), connecting first when
  // needed. Throws Error; after a broken connection the next call reconnects.
  std::vector<Result> run(std::vector<Statement>& statements) {
    Connection& connection = connected();
    try {
      return connection.run(statements, SteadyClock::now() + round_trip_timeout_);
    } catch (const Error& error) {
      if (error.connection_broken()) lost(error.what());
      throw;
    }
  }

  std::vector<Result> run(Statement statement) {
    std::vector<Statement> one{std::move(statement)};
    return run(one);
  }

  // The open connection, connecting when there is none. Throws Error while the back-off after
  // a failure lasts, or when connecting fails.
  Connection& connected() {
    if (connection_ && !connection_->broken()) return *connection_;
    if (connection_) lost("the connection to the server was lost");
    const auto now = SteadyClock::now();
    if (now < next_attempt_) throw Error(last_error_, "", true);
    try {
      connection_ = std::make_unique<Connection>(settings_, now + round_trip_timeout_);
    } catch (const Error& error) {
      lost(error.what());
      throw;
    }
    if (ever_connected_) ++reconnects_;
    ever_connected_ = true;
    backoff_ = initial_backoff;
    return *connection_;
  }

  bool is_connected() const { return connection_ && !connection_->broken(); }

  // Drops the connection (the next use reconnects at once).
  void reset() { connection_.reset(); }

  // Why the latest connect or round trip failed because of the connection.
  const std::string& last_error() const { return last_error_; }
  std::uint64_t reconnects() const { return reconnects_; }
  const ConnectSettings& settings() const { return settings_; }

 private:
  static constexpr std::chrono::milliseconds initial_backoff{100};
  static constexpr std::chrono::milliseconds max_backoff{1000};

  void lost(const std::string& why) {
    connection_.reset();
    last_error_ = why;
    next_attempt_ = SteadyClock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, max_backoff);
  }

  ConnectSettings settings_;
  std::chrono::milliseconds round_trip_timeout_;
  std::unique_ptr<Connection> connection_;
  SteadyClock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_ = initial_backoff;
  std::string last_error_ = "not connected yet";
  bool ever_connected_ = false;
  std::uint64_t reconnects_ = 0;
};

}  // namespace allthings::webhooks::detail::pg
