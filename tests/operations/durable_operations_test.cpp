// What a durable inbox adds to operations: its commits and stored dead letters in the metrics
// (checked by promtool), and readiness that turns 503 while its file cannot be written.
#include <doctest/doctest.h>

#ifdef ALLTHINGS_WEBHOOKS_WITH_SQLITE
#include <allthings/webhooks/inbox/sqlite.hpp>

#include <sqlite3.h>

#include "../support.hpp"
#include "operations_support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("a SqliteInbox's commits and dead letters are in the metrics, which promtool accepts") {
  test::TempDir dir;
  auto inbox = std::make_shared<aw::SqliteInbox>(dir.file("inbox.db"));
  aw::Options o = test::options();
  o.max_attempts = 1;
  test::Server server(o, inbox);
  server.endpoint.on("ticket.created", [](const aw::Event& e) {
    if (e.id() == "dead") throw std::runtime_error("gives up");
  });
  server.start();
  for (const char* id : {"a", "b", "c", "dead"}) {
    REQUIRE(test::status_of(server.post_signed(test::body(id))) == 200);
  }
  REQUIRE(test::eventually([&] { return server.endpoint.stats().dead_letters == 1; }));

  const auto m = server.endpoint.metrics();
  REQUIRE(m.inbox_commits);
  CHECK(m.inbox_commits->batch_size.sum == 4);  // every accepted event was stored once
  CHECK(m.inbox_commits->batch_size.count >= 1);
  CHECK(m.inbox_commits->duration.count >= m.inbox_commits->batch_size.count);
  REQUIRE(m.dead_letters_stored);
  CHECK(*m.dead_letters_stored == 1);

  const auto text = test::get_body(server.port, "/metrics");
  CHECK(text.find("\nallthings_webhooks_inbox_dead_letters 1\n") != std::string::npos);
  CHECK(text.find("\nallthings_webhooks_inbox_commit_batch_size_sum 4\n") != std::string::npos);
  CHECK(text.find("\nallthings_webhooks_inbox_commit_duration_seconds_bucket{le=\"+Inf\"}") !=
        std::string::npos);
  test::promtool_accepts(text);
}

TEST_CASE("readyz is 503 inbox_unavailable while the inbox's file cannot be written") {
  test::TempDir dir;
  const auto path = dir.file("inbox.db");
  aw::SqliteInbox::Settings settings;
  settings.busy_timeout = 50ms;
  auto inbox = std::make_shared<aw::SqliteInbox>(path, settings);
  test::Server server(test::options(), inbox);
  server.start();
  CHECK(test::get_body(server.port, "/readyz") == R"({"status":"ready"})");

  sqlite3* other = nullptr;  // another process's connection, holding the write lock
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(test::status_of(server.post_signed(test::body("locked-out"))) == 503);
  CHECK(test::get_body(server.port, "/readyz") ==
        R"({"status":"not_ready","reason":"inbox_unavailable"})");
  CHECK_FALSE(server.endpoint.metrics().ready);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);

  // The sender's retry gets in, and with that write readiness comes back.
  CHECK(test::status_of(server.post_signed(test::body("locked-out"))) == 200);
  CHECK(test::get_body(server.port, "/readyz") == R"({"status":"ready"})");
}
#endif
