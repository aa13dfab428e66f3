// The durable inbox behind a real endpoint on 127.0.0.1: a 200 means the event is on disk, a
// store that cannot take it means 503, and a restarted endpoint finishes what the last left.
#include <doctest/doctest.h>

#include "durable_support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("the event is committed to the file, body and headers, before the 200 arrives") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  aw::SqliteInbox::Settings settings;
  settings.group_commit_window = 100ms;  // a commit that comes late must still precede the 200
  auto inbox = std::make_shared<aw::SqliteInbox>(path, settings);
  // Shared with the handler: a failing check must not leave a worker waiting on a dead gate.
  auto gate = std::make_shared<test::Gate>();
  test::Server server(test::options(), inbox);
  server.endpoint.on_any([gate](const aw::Event&) { gate->pass(); });
  server.start();

  const auto body = test::body("e1");
  const auto response = server.post_signed(body);
  REQUIRE(test::status_of(response) == 200);
  CHECK(response->body == R"({"status":"accepted"})");

  test::DatabaseFile file(path);  // a connection of its own sees only what is committed
  CHECK(file.state_of("e1") == "pending");
  CHECK(file.text("SELECT raw_body FROM events WHERE id = ?1", "e1") == body);
  CHECK(file.text("SELECT headers FROM events WHERE id = ?1", "e1").find("x-allthings-signature") !=
        std::string::npos);
  gate->open();
  CHECK(test::eventually([&] { return file.state_of("e1") == "completed"; }));
}

TEST_CASE("a database that cannot take the event answers 503, never 200") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  aw::SqliteInbox::Settings settings;
  settings.max_size_bytes = 96 * 1024;  // the "disk" fills up after a few dozen events
  auto inbox = std::make_shared<aw::SqliteInbox>(path, settings);
  // Shared with the handler: a failing check must not leave a worker waiting on a dead gate.
  auto gate = std::make_shared<test::Gate>();
  test::Server server(test::options(), inbox);
  server.endpoint.on_any([gate](const aw::Event&) { gate->pass(); });
  server.start();
  test::DatabaseFile file(path);
  const nlohmann::json bulky = {{"text", std::string(4000, 'x')}};

  int acknowledged = 0;
  int refused_status = 0;
  std::string refused_id, refused_body, refused_retry_after;
  for (int i = 0; i < 200 && refused_id.empty(); ++i) {
    const std::string id = "e" + std::to_string(i);
    auto response = server.post_signed(test::body(id, "ticket.created", bulky));
    if (test::status_of(response) == 200) {
      ++acknowledged;
      CHECK(file.state_of(id) == "pending");  // every 200 is backed by a row
    } else {
      refused_id = id;
      refused_status = test::status_of(response);
      if (response) {
        refused_body = response->body;
        refused_retry_after = response->get_header_value("Retry-After");
      }
    }
  }
  CHECK(acknowledged > 0);
  REQUIRE_FALSE(refused_id.empty());
  CHECK(refused_status == 503);
  CHECK(refused_body == R"({"error":"inbox_unavailable"})");
  CHECK(refused_retry_after == "30");
  CHECK(file.state_of(refused_id).empty());
  CHECK(server.recorder.saw_error(aw::ErrorKind::inbox_unavailable));

  // Once handlers finish, their events shrink to an id; the sender's retry then gets in.
  gate->open();
  REQUIRE(test::eventually([&] { return server.endpoint.stats().queue_depth == 0; }));
  const auto retried = server.post_signed(test::body(refused_id, "ticket.created", bulky));
  CHECK(test::status_of(retried) == 200);
  CHECK(retried->body == R"({"status":"accepted"})");
}

TEST_CASE("an endpoint restarted on the same file runs what the last one left, back-off kept") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  test::ManualClock clock;
  aw::Options o = test::options();
  o.clock = clock.clock();
  o.retry_base_delay = std::chrono::hours(1);
  o.retry_max_delay = std::chrono::hours(1);
  o.drain_timeout = 50ms;
  {
    auto inbox = std::make_shared<aw::SqliteInbox>(path);
    test::Server server(o, inbox);
    std::atomic<int> calls{0};
    server.endpoint.on_any([&](const aw::Event&) {
      ++calls;
      throw std::runtime_error("downstream is down");
    });
    server.start();
    CHECK(test::status_of(server.post_signed(test::body("e1"), clock.now())) == 200);
    REQUIRE(test::eventually([&] { return inbox->find("e1")->attempt == 2; }));
    server.endpoint.stop();
    CHECK(calls == 1);
    CHECK_FALSE(server.recorder.saw_error(aw::ErrorKind::undelivered_at_stop));  // kept on disk
  }
  clock.advance(std::chrono::hours(1));
  auto inbox = std::make_shared<aw::SqliteInbox>(path);
  test::Server server(o, inbox);
  server.endpoint.on_any([&](const aw::Event& e) { server.recorder.event(e); });
  server.start();
  REQUIRE(test::eventually([&] { return server.recorder.event_count() == 1; }));
  const auto event = server.recorder.events().front();
  CHECK(event.id() == "e1");
  CHECK(event.attempt() == 2);
  CHECK(event.data() == nlohmann::json{{"id", "T-1"}, {"title", "Leak"}});
  CHECK(event.header("x-allthings-signature").size() == 64);
  const auto again = server.post_signed(test::body("e1"), clock.now());
  CHECK(again->body == R"({"status":"duplicate"})");
}

TEST_CASE("a client-sent REMOTE_ADDR is never stored with the event") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  auto inbox = std::make_shared<aw::SqliteInbox>(path);
  auto gate = std::make_shared<test::Gate>();
  test::Server server(test::options(), inbox);
  server.endpoint.on_any([gate](const aw::Event&) { gate->pass(); });
  server.start();

  const auto body = test::body("spoofed");
  auto headers = aw::testing::signed_headers(body, test::secret);
  headers.emplace("REMOTE_ADDR", "203.0.113.9");
  headers.emplace("X-Kept", "yes");
  REQUIRE(test::status_of(server.post(body, headers)) == 200);
  const auto stored = inbox->find("spoofed");
  REQUIRE(stored);
  bool kept = false;
  for (const auto& header : stored->headers) {
    // Named copies: clang 14 cannot capture a structured binding in CAPTURE/CHECK.
    const std::string& name = header.first;
    const std::string& value = header.second;
    CAPTURE(name);
    CHECK_FALSE(aw::detail::is_pseudo_header(name));
    CHECK(value.find("203.0.113.9") == std::string::npos);
    kept = kept || name == "x-kept";
  }
  CHECK(kept);
  gate->open();
}
