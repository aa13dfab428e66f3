#include <doctest/doctest.h>

#include <condition_variable>

#include "support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("every matching handler runs: typed, exact, prefix and any") {
  test::Server server;
  std::mutex mutex;
  std::vector<std::string> calls;
  const auto note = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mutex);
    calls.push_back(std::move(what));
  };
  server.endpoint.on<aw::TicketCreated>([&](const aw::TicketCreated& e) { note("typed " + e.ticket.id); });
  server.endpoint.on("ticket.created", [&](const aw::Event&) { note("exact"); });
  server.endpoint.on("ticket.*", [&](const aw::Event&) { note("prefix"); });
  server.endpoint.on("tickets.*", [&](const aw::Event&) { note("wrong prefix"); });
  server.endpoint.on("booking.*", [&](const aw::Event&) { note("booking"); });
  server.endpoint.on_any([&](const aw::Event&) { note("any"); });
  server.endpoint.on_unhandled([&](const aw::Event&) { note("unhandled"); });
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("e1"))) == 200);
  REQUIRE(test::eventually([&] { return server.endpoint.stats().delivered == 1; }));
  std::lock_guard<std::mutex> lock(mutex);
  std::sort(calls.begin(), calls.end());
  CHECK(calls == std::vector<std::string>{"any", "exact", "prefix", "typed T-1"});
}

TEST_CASE("an event nobody handles is acknowledged and goes to on_unhandled") {
  test::Server server;
  server.endpoint.on("ticket.*", [&](const aw::Event& e) { server.recorder.event(e); });
  std::atomic<int> unhandled{0};
  server.endpoint.on_unhandled([&](const aw::Event& e) {
    CHECK(e.name() == "registration-code.created");
    ++unhandled;
  });
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("e1", "registration-code.created"))) == 200);
  REQUIRE(test::eventually([&] { return unhandled == 1; }));
  CHECK(server.recorder.event_count() == 0);
  CHECK(server.endpoint.stats().unhandled == 1);
}

TEST_CASE("a throwing handler is retried with back-off, the others are not re-run") {
  aw::Options o = test::options();
  o.max_attempts = 4;
  test::Server server(o);
  std::atomic<int> steady_calls{0};
  std::mutex mutex;
  std::vector<std::pair<int, std::chrono::steady_clock::time_point>> flaky_calls;
  server.endpoint.on("ticket.created", [&](const aw::Event&) { ++steady_calls; });
  server.endpoint.on("ticket.created", [&](const aw::Event& e) {
    std::lock_guard<std::mutex> lock(mutex);
    flaky_calls.emplace_back(e.attempt(), std::chrono::steady_clock::now());
    if (e.attempt() < 3) throw std::runtime_error("temporary failure");
  });
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("e1"))) == 200);
  REQUIRE(test::eventually([&] { return server.endpoint.stats().delivered == 1; }));
  CHECK(steady_calls == 1);
  std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(flaky_calls.size() == 3);
  CHECK(flaky_calls[0].first == 1);
  CHECK(flaky_calls[2].first == 3);
  // base 5 ms, then 10 ms: the gaps grow.
  CHECK(flaky_calls[1].second - flaky_calls[0].second >= 5ms);
  CHECK(flaky_calls[2].second - flaky_calls[1].second >= 10ms);
  CHECK(server.endpoint.stats().handler_failures == 2);
  CHECK(server.endpoint.stats().dead_letters == 0);
}

TEST_CASE("back-off doubles from the base delay up to the cap") {
  aw::detail::Dispatcher::Settings s;
  s.retry_base_delay = 100ms;
  s.retry_max_delay = 500ms;
  CHECK(aw::detail::Dispatcher::backoff(s, 1) == 100ms);
  CHECK(aw::detail::Dispatcher::backoff(s, 2) == 200ms);
  CHECK(aw::detail::Dispatcher::backoff(s, 3) == 400ms);
  CHECK(aw::detail::Dispatcher::backoff(s, 4) == 500ms);
  CHECK(aw::detail::Dispatcher::backoff(s, 60) == 500ms);
}

TEST_CASE("a handler failing every attempt is dead-lettered and others are unaffected") {
  aw::Options o = test::options();
  o.max_attempts = 3;
  test::Server server(o);
  std::atomic<int> attempts{0}, others{0};
  server.endpoint.on("ticket.created", [&](const aw::Event& e) {
    ++attempts;
    if (e.id() == "doomed") throw std::runtime_error("always fails");
  });
  server.endpoint.on("ticket.updated", [&](const aw::Event&) { ++others; });
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("doomed"))) == 200);
  CHECK(test::status_of(server.post_signed(test::body("fine", "ticket.updated"))) == 200);
  CHECK(test::status_of(server.post_signed(test::body("fine-too"))) == 200);
  REQUIRE(test::eventually([&] { return server.endpoint.stats().dead_letters == 1; }));
  CHECK(attempts == 3 + 1);
  CHECK(others == 1);
  const auto errors = server.recorder.errors();
  const auto dead = std::find_if(errors.begin(), errors.end(), [](const aw::Error& e) {
    return e.kind == aw::ErrorKind::dead_lettered;
  });
  REQUIRE(dead != errors.end());
  CHECK(dead->event_id == "doomed");
  CHECK(dead->attempt == 3);
  CHECK(server.endpoint.stats().handler_failures == 3);
  CHECK(server.endpoint.stats().delivered == 2);
  CHECK(server.endpoint.stats().queue_depth == 0);
}

TEST_CASE("serialize_by: same key never concurrent and in arrival order, others overlap") {
  aw::Options o = test::options();
  o.workers = 4;
  o.serialize_by = [](const aw::Event& e) { return e.data().value("id", std::string()); };
  test::Server server(o);
  std::mutex mutex;
  std::map<std::string, int> running;
  std::map<std::string, std::vector<std::string>> order;
  int max_same_key = 0, max_total = 0, total = 0;
  server.endpoint.on_any([&](const aw::Event& e) {
    const auto key = e.data().value("id", std::string());
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++total;
      max_same_key = std::max(max_same_key, ++running[key]);
      max_total = std::max(max_total, total);
      order[key].push_back(e.id());
    }
    if (e.id() == "a0") {
      // Holds the first T-A event until a T-B event runs beside it: proves the keys overlap.
      test::eventually([&] {
        std::lock_guard<std::mutex> lock(mutex);
        return running["T-B"] > 0;
      }, 2000ms);
    }
    std::this_thread::sleep_for(20ms);  // overlapping slow handlers
    std::lock_guard<std::mutex> lock(mutex);
    --running[key];
    --total;
  });
  server.start();
  std::vector<std::string> sent_a, sent_b;
  for (int i = 0; i < 6; ++i) {
    const auto id_a = "a" + std::to_string(i), id_b = "b" + std::to_string(i);
    CHECK(test::status_of(server.post_signed(test::body(id_a, "ticket.updated", {{"id", "T-A"}}))) == 200);
    CHECK(test::status_of(server.post_signed(test::body(id_b, "ticket.updated", {{"id", "T-B"}}))) == 200);
    sent_a.push_back(id_a);
    sent_b.push_back(id_b);
  }
  REQUIRE(test::eventually([&] { return server.endpoint.stats().delivered == 12; }));
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(max_same_key == 1);
  CHECK(max_total == 2);  // the two tickets did run side by side
  CHECK(order["T-A"] == sent_a);
  CHECK(order["T-B"] == sent_b);
}

TEST_CASE("serialize_by keeps order across a retry of the first event") {
  aw::Options o = test::options();
  o.workers = 3;
  o.serialize_by = [](const aw::Event& e) { return e.data().value("id", std::string()); };
  test::Server server(o);
  std::mutex mutex;
  std::vector<std::string> seen;
  server.endpoint.on_any([&](const aw::Event& e) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      seen.push_back(e.id() + "#" + std::to_string(e.attempt()));
    }
    if (e.id() == "first" && e.attempt() == 1) throw std::runtime_error("retry me");
  });
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("first", "ticket.updated", {{"id", "T"}}))) == 200);
  CHECK(test::status_of(server.post_signed(test::body("second", "ticket.updated", {{"id", "T"}}))) == 200);
  REQUIRE(test::eventually([&] { return server.endpoint.stats().delivered == 2; }));
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(seen == std::vector<std::string>{"first#1", "first#2", "second#1"});
}
