#pragma once

// Shared pieces of the PostgreSQL inbox tests: this test process's own server, a fresh schema
// per test (each schema is an inbox of its own), inbox settings with short times, and a plain
// libpq client to look at and change the database as another process would.
#include <allthings/webhooks/inbox/postgres.hpp>
#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support.hpp"
#include "temporary_server.hpp"

namespace test::pg {

// The server of this test process, started at first use and stopped at exit; nullptr when the
// PostgreSQL server programs are not installed.
inline TemporaryServer* server() {
  static const std::string bindir = server_bindir();
  if (bindir.empty()) return nullptr;
  static TemporaryServer instance(bindir, ALLTHINGS_WEBHOOKS_PG_TEMPLATE);
  return &instance;
}

// The server, or nullptr after saying that the test is skipped (CTest marks it skipped).
inline TemporaryServer* server_or_skip() {
  TemporaryServer* running = server();
  if (running == nullptr) MESSAGE(missing_server_message);
  return running;
}

// A fresh directory for logs, removed with everything in it at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "aw-pg-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// A schema name no other test of this process uses.
inline std::string fresh_schema() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

// Short times, so that leases run out and polls come within a test's patience.
inline aw::PostgresInboxSettings settings(const std::string& schema,
                                          const std::string& replica = "test") {
  aw::PostgresInboxSettings s;
  s.schema = schema;
  s.replica_name = replica;
  s.lease = std::chrono::seconds(3);
  s.heartbeat_interval = std::chrono::milliseconds(500);
  s.poll_interval = std::chrono::milliseconds(200);
  // Not short: on a loaded machine creating a schema alone can take seconds (catalog fsyncs).
  s.statement_timeout = std::chrono::seconds(10);
  s.connect_timeout = std::chrono::seconds(5);
  return s;
}

// A plain libpq connection, as a psql in another terminal would be.
class Client {
 public:
  explicit Client(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("test client cannot connect: " + message);
    }
  }
  ~Client() { PQfinish(conn_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Every row of the result, as text (NULL as "NULL").
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const auto status = PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      const std::string message = PQresultErrorMessage(result);
      PQclear(result);
      throw std::runtime_error("test client: " + sql + ": " + message);
    }
    std::vector<std::vector<std::string>> out;
    for (int r = 0; r < PQntuples(result); ++r) {
      out.emplace_back();
      for (int c = 0; c < PQnfields(result); ++c) {
        out.back().push_back(PQgetisnull(result, r, c) ? "NULL" : PQgetvalue(result, r, c));
      }
    }
    PQclear(result);
    return out;
  }

  // The first column of the first row; empty when there is none.
  std::string value(const std::string& sql) {
    const auto all = rows(sql);
    return all.empty() || all[0].empty() ? std::string() : all[0][0];
  }

  void exec(const std::string& sql) { rows(sql); }

  PGconn* handle() { return conn_; }

 private:
  PGconn* conn_;
};

}  // namespace test::pg
