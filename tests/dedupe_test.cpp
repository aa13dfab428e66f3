#include <doctest/doctest.h>

#include "support.hpp"

namespace aw = allthings::webhooks;


TEST_CASE("a second delivery of an id is a 200 duplicate and not dispatched, even mid-run") {
  test::Server server;
  test::Latch gate;
  std::atomic<int> calls{0};
  server.endpoint.on_any([&](const aw::Event&) {
    ++calls;
    gate.wait();
  });
  server.start();
  const auto b = test::body("e1");
  CHECK(server.post_signed(b)->body == R"({"status":"accepted"})");
  REQUIRE(test::eventually([&] { return gate.entered() > 0; }));
  const auto again = server.post_signed(b);  // the first is still running
  CHECK(test::status_of(again) == 200);
  CHECK(again->body == R"({"status":"duplicate"})");
  gate.release();
  REQUIRE(test::eventually([&] { return server.endpoint.stats().delivered == 1; }));
  CHECK(server.post_signed(b)->body == R"({"status":"duplicate"})");  // and after it finished
  CHECK(calls == 1);
  CHECK(server.endpoint.stats().duplicates == 2);
}

TEST_CASE("the same id sent from 8 threads at once is dispatched exactly once") {
  aw::Options o = test::options();
  o.http_threads = 16;
  test::Server server(o);
  std::atomic<int> calls{0};
  server.endpoint.on_any([&](const aw::Event&) { ++calls; });
  server.start();
  for (int round = 0; round < 20; ++round) {
    const auto b = test::body("concurrent-" + std::to_string(round));
    const auto headers = aw::testing::signed_headers(b, test::secret);
    std::atomic<bool> go{false};
    std::atomic<int> accepted{0}, duplicate{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < 8; ++t) {
      senders.emplace_back([&] {
        auto client = server.client();
        while (!go) std::this_thread::yield();
        const auto res = client.Post(server.endpoint.options().path.c_str(), headers, b,
                                     "application/json");
        if (res && res->body == R"({"status":"accepted"})") ++accepted;
        if (res && res->body == R"({"status":"duplicate"})") ++duplicate;
      });
    }
    go = true;
    for (auto& t : senders) t.join();
    CHECK(accepted == 1);
    CHECK(duplicate == 7);
  }
  REQUIRE(test::eventually([&] { return server.endpoint.stats().delivered == 20; }));
  CHECK(calls == 20);
}

TEST_CASE("ids are forgotten after dedupe_window") {
  test::ManualClock clock;
  aw::Options o = test::options();
  o.clock = clock.clock();
  test::Server server(o);
  std::atomic<int> calls{0};
  server.endpoint.on_any([&](const aw::Event&) { ++calls; });
  server.start();
  const auto b = test::body("e1");
  CHECK(server.post_signed(b, clock.now())->body == R"({"status":"accepted"})");
  clock.advance(std::chrono::hours(24 * 7));  // Allthings' last retry
  CHECK(server.post_signed(b, clock.now())->body == R"({"status":"duplicate"})");
  clock.advance(std::chrono::hours(24) + 1s);  // past the 8-day default window
  CHECK(server.post_signed(b, clock.now())->body == R"({"status":"accepted"})");
  REQUIRE(test::eventually([&] { return calls == 2; }));
}

TEST_CASE("at most dedupe_capacity ids are kept, oldest first out") {
  aw::Options o = test::options();
  o.dedupe_capacity = 3;
  test::Server server(o);
  server.start();
  for (const char* id : {"e1", "e2", "e3", "e4"}) {
    CHECK(server.post_signed(test::body(id))->body == R"({"status":"accepted"})");
  }
  CHECK(server.post_signed(test::body("e4"))->body == R"({"status":"duplicate"})");
  CHECK(server.post_signed(test::body("e2"))->body == R"({"status":"duplicate"})");
  CHECK(server.post_signed(test::body("e1"))->body == R"({"status":"accepted"})");  // forgotten
}
