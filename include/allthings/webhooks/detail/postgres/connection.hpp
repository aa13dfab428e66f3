#pragma once

// Thin RAII over libpq for the PostgreSQL inbox: one connection whose every round trip has a
// deadline (non-blocking I/O and poll, so no thread waits forever on a silent server), the
// statements of a round trip sent together in pipeline mode (one round trip, one implicit
// transaction), binary parameters and results, and errors that say whether the connection is
// still usable.
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "binary.hpp"

namespace allthings::webhooks::detail::pg {

using SteadyClock = std::chrono::steady_clock;

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, std::string sqlstate, bool connection_broken)
      : std::runtime_error(message),
        sqlstate_(std::move(sqlstate)),
        connection_broken_(connection_broken) {}

  // The five-character SQLSTATE, e.g. "57014" for a statement timeout; empty when the server
  // sent none (a lost connection, a time-out of ours).
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  // The connection cannot be used again: lost, timed out, or in an unknown state.
  bool connection_broken() const noexcept { return connection_broken_; }

 private:
  std::string sqlstate_;
  bool connection_broken_;
};

// libpq's messages end with a newline; ours do not.
inline std::string trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

class Result {
 public:
  Result() = default;
  explicit Result(PGresult* result) : result_(result, &PQclear) {}

  ExecStatusType status() const {
    return result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
  }
  int rows() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) == 1; }
  // A text or bytea column (binary results: the bytes as stored).
  std::string text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
  }
  // A bigint column; 0 when null. Cast other integers to bigint in the SQL.
  std::int64_t int8(int row, int column) const {
    if (is_null(row, column) || PQgetlength(result_.get(), row, column) != 8) return 0;
    return read_int64(PQgetvalue(result_.get(), row, column));
  }
  // Rows an INSERT, UPDATE or DELETE changed.
  std::size_t affected() const {
    const char* count = result_ ? PQcmdTuples(result_.get()) : "";
    return count[0] == '\0' ? 0 : static_cast<std::size_t>(std::stoull(count));
  }

 private:
  std::shared_ptr<PGresult> result_;
};

// One statement of a round trip. A named one is prepared once per connection and then only
// executed; an unnamed one (name empty) is parsed every time.
struct Statement {
  std::string name;
  std::string sql;
  Params params;
};

// How to connect: the user's connection string (key=value or URI) plus what the inbox adds.
struct ConnectSettings {
  std::string conninfo;
  std::chrono::seconds connect_timeout{5};
  std::string application_name = "allthings-webhooks";
  // Session settings applied right after connecting (set_config name -> value).
  std::vector<std::pair<std::string, std::string>> session;
  // Pipeline mode for round trips; off for the connection that only LISTENs.
  bool pipeline = true;
};

class Connection {
 public:
  // Connects within connect_timeout and applies the session settings by `deadline`. Throws
  // Error (connection_broken) naming the server and the problem.
  Connection(const ConnectSettings& settings, SteadyClock::time_point deadline)
      : pipeline_(settings.pipeline) {
    const std::string timeout = std::to_string(settings.connect_timeout.count());
    // Later entries win: the user's string may override the application name and the time-out,
    // but the client encoding stays UTF8, which the inbox's text handling relies on.
    const char* keywords[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                              nullptr};
    const char* values[] = {timeout.c_str(), settings.application_name.c_str(),
                            settings.conninfo.c_str(), "UTF8", nullptr};
    conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
    if (conn_ == nullptr) throw Error("cannot allocate a libpq connection", "", true);
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string message = trimmed(PQerrorMessage(conn_));
      close();
      throw Error(message, "08001", true);
    }
    // libpq prints the server's notices (a restart's "terminating connection") to stderr by
    // default; a library must not write there, and errors reach the caller anyway.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    if (PQsetnonblocking(conn_, 1) != 0 || (pipeline_ && PQenterPipelineMode(conn_) != 1)) {
      fail_broken("cannot switch the connection to non-blocking pipeline mode");
    }
    for (const auto& [name, value] : settings.session) {
      std::vector<Statement> set{
          {"", "SELECT set_config($1, $2, false)", Params().text(name).text(value)}};
      run(set, deadline);
    }
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { close(); }

  bool broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }

  // "database "db" at host:port", for messages; never the password.
  std::string describe() const {
    if (conn_ == nullptr) return "a closed connection";
    return "database \"" + std::string(PQdb(conn_)) + "\" at " + PQhost(conn_) + ":" +
           PQport(conn_);
  }

  // Runs the statements in one round trip. In pipeline mode they form one implicit
  // transaction, committed at the end: when one fails, those before it are rolled back, those
  // after it do not run, and the first error is thrown. A round trip that outlives `deadline`
  // closes the connection and throws.
  std::vector<Result> run(std::vector<Statement>& statements, SteadyClock::time_point deadline) {
    if (broken()) throw Error("the connection is closed", "", true);
    struct Sent {
      bool prepare;
      std::size_t index;
    };
    std::vector<Sent> sent;
    for (std::size_t i = 0; i < statements.size(); ++i) {
      auto& statement = statements[i];
      const auto& p = statement.params;
      const bool named = !statement.name.empty();
      if (named && prepared_.count(statement.name) == 0) {
        if (PQsendPrepare(conn_, statement.name.c_str(), statement.sql.c_str(), p.count(),
                          p.types()) != 1) {
          fail_broken(PQerrorMessage(conn_));
        }
        sent.push_back({true, i});
      }
      const int queued =
          named ? PQsendQueryPrepared(conn_, statement.name.c_str(), p.count(), p.values(),
                                      p.lengths(), p.formats(), /*binary results=*/1)
                : PQsendQueryParams(conn_, statement.sql.c_str(), p.count(), p.types(), p.values(),
                                    p.lengths(), p.formats(), 1);
      if (queued != 1) fail_broken(PQerrorMessage(conn_));
      sent.push_back({false, i});
      if (!pipeline_ && i + 1 < statements.size()) {
        throw std::logic_error("pg::Connection: one statement per round trip without pipeline");
      }
    }
    if (pipeline_ && PQpipelineSync(conn_) != 1) fail_broken(PQerrorMessage(conn_));
    flush(deadline);

    std::vector<Result> results(statements.size());
    std::optional<Error> first_error;
    for (const Sent& item : sent) {
      PGresult* raw = next_result(deadline);
      if (raw == nullptr) fail_broken("the server sent fewer results than statements");
      Result result(raw);
      const auto status = PQresultStatus(raw);
      if (status == PGRES_FATAL_ERROR) {
        if (!first_error) first_error = error_of(raw);
      } else if (status != PGRES_PIPELINE_ABORTED) {
        if (item.prepare) {
          prepared_.insert(statements[item.index].name);
        } else {
          results[item.index] = std::move(result);
        }
      }
      // Each statement's results end with a null.
      if (next_result(deadline) != nullptr) fail_broken("the server sent an unexpected result");
    }
    if (pipeline_) {
      const Result sync(next_result(deadline));
      if (sync.status() != PGRES_PIPELINE_SYNC) {
        fail_broken("the server did not end the round trip where expected");
      }
    }
    if (first_error) {
      if (broken()) throw Error(first_error->what(), first_error->sqlstate(), true);
      throw *first_error;
    }
    return results;
  }

  // Waits until the server sends something (a notification, say) or `deadline`, and reads
  // it. Throws Error when the connection is lost.
  void wait_for_input(SteadyClock::time_point deadline) {
    if (broken()) throw Error("the connection is closed", "", true);
    if (wait(POLLIN, deadline) && PQconsumeInput(conn_) != 1) {
      fail_broken(PQerrorMessage(conn_));
    }
  }

  // Notifications received so far, taken: how many had a payload other than `ignored`.
  std::size_t take_notifications(const std::string& ignored) {
    std::size_t count = 0;
    while (PGnotify* notify = PQnotifies(conn_)) {
      if (notify->extra == nullptr || ignored != notify->extra) ++count;
      PQfreemem(notify);
    }
    return count;
  }

 private:
  static Error error_of(const PGresult* result) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const std::string sqlstate = state != nullptr ? state : "";
    // Class 08 (connection exception) and 57P0x (the server shutting down or starting up)
    // leave nothing usable behind.
    const bool broken = sqlstate.compare(0, 2, "08") == 0 || sqlstate.compare(0, 4, "57P0") == 0;
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    return Error(trimmed(primary != nullptr ? primary : PQresultErrorMessage(result)), sqlstate,
                 broken);
  }

  [[noreturn]] void fail_broken(const std::string& message) {
    const std::string text = trimmed(message.c_str());
    close();
    throw Error(text.empty() ? "the connection to the server was lost" : text, "", true);
  }

  void close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
  }

  // Waits up to `deadline` (and at most a second, so callers look at their clocks) for
  // `events` on the socket; true when they came.
  bool wait(short events, SteadyClock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    pollfd socket{PQsocket(conn_), events, 0};
    const int ready =
        ::poll(&socket, 1, static_cast<int>(std::clamp<long long>(left.count(), 0, 1000)));
    if (ready < 0 && errno != EINTR) fail_broken("poll failed on the connection's socket");
    return ready > 0;
  }

  // Past the deadline the connection's state is unknown: it is closed.
  void check(SteadyClock::time_point deadline) {
    if (SteadyClock::now() >= deadline) fail_broken("no answer from the server in time");
  }

  // Sends what libpq buffered, reading meanwhile so a server busy writing results cannot
  // deadlock with us.
  void flush(SteadyClock::time_point deadline) {
    for (;;) {
      const int pending = PQflush(conn_);
      if (pending == 0) return;
      if (pending < 0) fail_broken(PQerrorMessage(conn_));
      check(deadline);
      if (wait(POLLIN | POLLOUT, deadline) && PQconsumeInput(conn_) != 1) {
        fail_broken(PQerrorMessage(conn_));
      }
    }
  }

  PGresult* next_result(SteadyClock::time_point deadline) {
    while (PQisBusy(conn_) == 1) {
      check(deadline);
      if (wait(POLLIN, deadline) && PQconsumeInput(conn_) != 1) {
        fail_broken(PQerrorMessage(conn_));
      }
      if (broken()) fail_broken(PQerrorMessage(conn_));
    }
    return PQgetResult(conn_);
  }

  PGconn* conn_ = nullptr;
  bool pipeline_;
  std::set<std::string> prepared_;
};

}  // namespace allthings::webhooks::detail::pg
