// PostgresInbox when the database misbehaves: stopped, too slow, the connection cut mid-batch,
// a schema that is not ours or is newer, bad settings. Never a 200 for an event that is not
// committed, an event refused leaves no trace, and the inbox comes back by itself.
#include <doctest/doctest.h>

#include <future>
#include <thread>

#include "../operations/operations_support.hpp"
#include "postgres_support.hpp"

namespace aw = allthings::webhooks;

namespace {

std::string quoted(const std::string& schema) { return "\"" + schema + "\""; }

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& error) {
    return error.what();
  }
  return {};
}

}  // namespace

TEST_CASE("postgres: with the server stopped deliveries get 503 and Retry-After, and after a "
          "restart it works again by itself") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(), test::pg::settings(schema));
  test::Server receiving(test::options(), inbox);
  receiving.endpoint.on_any([&](const aw::Event& e) { receiving.recorder.event(e); });
  receiving.start();
  REQUIRE(test::status_of(receiving.post_signed(test::body("evt-before"))) == 200);
  REQUIRE(test::eventually([&] { return receiving.recorder.event_count() == 1; }));

  server->stop();
  const auto started = std::chrono::steady_clock::now();
  const auto refused = receiving.post_signed(test::body("evt-during"));
  REQUIRE(test::status_of(refused) == 503);
  CHECK(refused->body == R"({"error":"inbox_unavailable"})");
  CHECK(refused->get_header_value("Retry-After") == "30");
  // Refused quickly: a database that is down costs no request its full time-outs.
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(receiving.recorder.saw_error(aw::ErrorKind::inbox_unavailable));
  CHECK_FALSE(inbox->last_error().empty());
  // Load balancers route elsewhere while the database is away.
  CHECK(std::string(receiving.endpoint.readiness().reason) == "inbox_unavailable");

  server->start();
  // The sender's retry: new, since the refused delivery left no trace; it runs.
  REQUIRE(test::eventually(
      [&] { return test::status_of(receiving.post_signed(test::body("evt-during"))) == 200; },
      20s));
  CHECK(test::eventually([&] { return receiving.recorder.event_count() == 2; }, 20s));
  CHECK(receiving.recorder.events().back().id() == "evt-during");
  CHECK(inbox->stats().reconnects >= 1);
  CHECK(receiving.endpoint.readiness().ready);
}

TEST_CASE("postgres: commits are in the metrics, which promtool accepts") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(),
                                                   test::pg::settings(test::pg::fresh_schema()));
  test::Server receiving(test::options(), inbox);
  receiving.endpoint.on_any([&](const aw::Event& e) { receiving.recorder.event(e); });
  receiving.start();
  for (const char* id : {"a", "b", "c"}) {
    REQUIRE(test::status_of(receiving.post_signed(test::body(id))) == 200);
  }
  const auto m = receiving.endpoint.metrics();
  REQUIRE(m.inbox_commits);
  CHECK(m.inbox_commits->batch_size.sum == 3);  // every accepted event was stored once
  CHECK(m.inbox_commits->duration.count >= m.inbox_commits->batch_size.count);
  CHECK(m.ready);
  const auto text = aw::to_prometheus_text(m);
  CHECK(text.find("\nallthings_webhooks_inbox_commit_batch_size_sum 3\n") != std::string::npos);
  test::promtool_accepts(text);
}

TEST_CASE("postgres: a statement that outlives statement_timeout answers 503, and the event leaves "
          "no trace") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto settings = test::pg::settings(schema);
  settings.statement_timeout = 500ms;
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(), settings);
  test::Server receiving(test::options(), inbox);
  receiving.start();

  test::pg::Client blocker(server->conninfo());
  blocker.exec("BEGIN");
  blocker.exec("LOCK TABLE " + quoted(schema) + ".seen_ids IN EXCLUSIVE MODE");
  const auto started = std::chrono::steady_clock::now();
  const auto refused = receiving.post_signed(test::body("evt-slow"));
  CHECK(test::status_of(refused) == 503);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(inbox->last_error().find("statement timeout") != std::string::npos);
  blocker.exec("ROLLBACK");

  test::pg::Client look(server->conninfo());
  CHECK(look.value("SELECT count(*) FROM " + quoted(schema) + ".seen_ids") == "0");
  const auto retried = receiving.post_signed(test::body("evt-slow"));
  REQUIRE(test::status_of(retried) == 200);
  CHECK(retried->body == R"({"status":"accepted"})");
}

TEST_CASE("postgres: a connection lost in the middle of a batch answers 503, and nothing of it is "
          "committed") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto settings = test::pg::settings(schema, "cut");
  settings.statement_timeout = std::chrono::seconds(20);  // only the cut may end the batch
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(), settings);
  aw::Receiver receiver(test::options(), inbox);

  test::pg::Client blocker(server->conninfo());
  blocker.exec("BEGIN");
  blocker.exec("LOCK TABLE " + quoted(schema) + ".seen_ids IN EXCLUSIVE MODE");
  auto answer = std::async(std::launch::async, [&] {
    const auto body = test::body("evt-cut");
    return receiver.handle("POST",
                           aw::testing::sign_headers(receiver.options(), body, test::secret), body);
  });
  // The batch waits for the lock inside its transaction; cut its connection there.
  test::pg::Client admin(server->conninfo());
  REQUIRE(test::eventually([&] {
    return admin.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                       "'aw accept cut' AND wait_event_type = 'Lock'") == "1";
  }));
  admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'aw accept cut'");
  REQUIRE(answer.wait_for(10s) == std::future_status::ready);
  const auto reply = answer.get();
  CHECK(reply.status == 503);
  CHECK(reply.headers().size() >= 1);
  blocker.exec("ROLLBACK");

  CHECK(admin.value("SELECT count(*) FROM " + quoted(schema) + ".seen_ids") == "0");
  CHECK(admin.value("SELECT count(*) FROM " + quoted(schema) + ".events") == "0");
  // It reconnects by itself; the retry is new.
  const auto body = test::body("evt-cut");
  CHECK(test::eventually([&] {
    return receiver
               .handle("POST", aw::testing::sign_headers(receiver.options(), body, test::secret),
                       body)
               .body == R"({"status":"accepted"})";
  }));
}

TEST_CASE(
    "postgres: a schema that is not an inbox is refused with a clear error and left as it was") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  test::pg::Client look(server->conninfo());
  look.exec("CREATE SCHEMA " + quoted(schema));
  look.exec("CREATE TABLE " + quoted(schema) + ".customers (id int)");
  look.exec("INSERT INTO " + quoted(schema) + ".customers VALUES (7)");

  const auto message =
      error_of([&] { aw::PostgresInbox inbox(server->conninfo(), test::pg::settings(schema)); });
  CHECK(message.find("PostgresInbox: schema \"" + schema + "\"") != std::string::npos);
  CHECK(message.find("is not an allthings-webhooks inbox: it holds tables customers") !=
        std::string::npos);
  CHECK_THROWS_AS(aw::PostgresInbox(server->conninfo(), test::pg::settings(schema)),
                  aw::InboxStoreError);
  CHECK(look.value("SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = '" +
                   schema + "'") == "customers");
  CHECK(look.value("SELECT id FROM " + quoted(schema) + ".customers") == "7");
}

TEST_CASE("postgres: an inbox of a newer schema version is refused and not altered") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  { aw::PostgresInbox created(server->conninfo(), test::pg::settings(schema)); }
  test::pg::Client look(server->conninfo());
  // The next version is the one that matters: a check off by one would take it for its own.
  look.exec("UPDATE " + quoted(schema) + ".inbox_meta SET schema_version = 2");

  const auto message =
      error_of([&] { aw::PostgresInbox inbox(server->conninfo(), test::pg::settings(schema)); });
  CHECK(message.find("holds inbox schema version 2, newer than the version 1 this build reads") !=
        std::string::npos);
  CHECK(error_of([&] {
          aw::PostgresInboxDatabase view(server->conninfo(), test::pg::settings(schema));
        }).find("newer") != std::string::npos);
  CHECK(look.value("SELECT schema_version FROM " + quoted(schema) + ".inbox_meta") == "2");
}

TEST_CASE(
    "postgres: an unreachable database or a missing inbox is refused at construction, naming it") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const int closed_port = test::pg::free_port();
  const auto unreachable = "host=127.0.0.1 port=" + std::to_string(closed_port) +
                           " user=postgres dbname=postgres connect_timeout=2";
  const auto message = error_of(
      [&] { aw::PostgresInbox inbox(unreachable, test::pg::settings(test::pg::fresh_schema())); });
  CHECK(message.find("PostgresInbox: schema") != std::string::npos);
  CHECK(message.find(std::to_string(closed_port)) != std::string::npos);

  const auto missing = error_of([&] {
    aw::PostgresInboxDatabase view(server->conninfo(),
                                   test::pg::settings(test::pg::fresh_schema()));
  });
  CHECK(missing.find("holds no inbox") != std::string::npos);
}

TEST_CASE("postgres: settings and connection strings are checked before anything connects") {
  // No server needed: these fail before connecting.
  const auto with = [](auto change) {
    aw::PostgresInboxSettings settings;
    change(settings);
    return error_of([&] { aw::PostgresInbox inbox("host=127.0.0.1 port=1", settings); });
  };
  CHECK(with([](auto& s) { s.schema = "bad-name"; }).find("PostgresInboxSettings.schema") !=
        std::string::npos);
  CHECK(with([](auto& s) { s.heartbeat_interval = s.lease; }).find("heartbeat_interval") !=
        std::string::npos);
  CHECK(with([](auto& s) { s.poll_interval = s.lease * 2; }).find("poll_interval") !=
        std::string::npos);
  CHECK(with([](auto& s) { s.max_batch = 0; }).find("max_batch") != std::string::npos);
  CHECK_THROWS_AS(aw::PostgresInbox("host=127.0.0.1 port", {}), std::invalid_argument);
  CHECK(error_of([] {
          aw::PostgresInbox inbox("host=127.0.0.1 port", {});
        }).find("the connection string is not valid") != std::string::npos);
}
