#include <doctest/doctest.h>

#include "raw_http.hpp"
#include "support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("a blocked handler does not delay the acknowledgement") {
  test::Server server;
  test::Latch latch;
  std::atomic<bool> finished{false};
  server.endpoint.on_any([&](const aw::Event&) {
    latch.wait();
    finished = true;
  });
  server.start();
  const auto res = server.post_signed(test::body("e1"));
  CHECK(test::status_of(res) == 200);
  CHECK_FALSE(finished);  // answered while the handler is still blocked
  REQUIRE(test::eventually([&] { return latch.entered() == 1; }));
  latch.release();
  REQUIRE(test::eventually([&] { return finished.load(); }));
}

TEST_CASE("a full queue answers 503 with Retry-After and forgets the id") {
  aw::Options o = test::options();
  o.workers = 1;
  o.queue_capacity = 1;
  test::Server server(o);
  test::Latch latch;
  std::mutex mutex;
  std::vector<std::string> delivered;
  server.endpoint.on_any([&](const aw::Event& e) {
    if (e.id() == "e1") latch.wait();
    std::lock_guard<std::mutex> lock(mutex);
    delivered.push_back(e.id());
  });
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("e1"))) == 200);
  const auto refused = server.post_signed(test::body("e2"));
  CHECK(test::status_of(refused) == 503);
  CHECK(refused->get_header_value("Retry-After") == "30");
  CHECK(refused->body == R"({"error":"queue_full"})");
  CHECK(server.recorder.saw_error(aw::ErrorKind::queue_full));
  latch.release();
  REQUIRE(test::eventually([&] { return server.endpoint.stats().queue_depth == 0; }));
  // Allthings retries the refused delivery: it is new, not a duplicate.
  const auto retried = server.post_signed(test::body("e2"));
  CHECK(retried->body == R"({"status":"accepted"})");
  REQUIRE(test::eventually([&] { return server.endpoint.stats().delivered == 2; }));
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(delivered == std::vector<std::string>{"e1", "e2"});
}

TEST_CASE("listen blocks until stop is called from another thread") {
  test::Server server;
  const int port = test::free_port();
  std::atomic<bool> returned{false};
  std::thread serving([&] {
    server.endpoint.listen("127.0.0.1", port);
    returned = true;
  });
  server.port = port;
  REQUIRE(test::eventually([&] { return test::RawConnection(port).connected(); }));
  CHECK(test::status_of(server.post_signed(test::body("e1"))) == 200);
  CHECK_FALSE(returned);
  server.endpoint.stop();
  serving.join();
  CHECK(returned);
}

TEST_CASE("start returns a port that already accepts, and refuses a taken one") {
  test::Server server;
  server.start();
  CHECK(server.port > 0);
  CHECK(test::status_of(server.post_signed(test::body("e1"))) == 200);
  test::Server other;
  CHECK_THROWS_AS(other.endpoint.start("127.0.0.1", server.port), std::runtime_error);
  CHECK_THROWS_AS(server.endpoint.start("127.0.0.1", 0), std::logic_error);
}

TEST_CASE("stop is idempotent and safe from several threads") {
  test::Server server;
  server.start();
  std::vector<std::thread> stoppers;
  for (int i = 0; i < 4; ++i) stoppers.emplace_back([&] { server.endpoint.stop(); });
  for (auto& t : stoppers) t.join();
  server.endpoint.stop();
  CHECK_FALSE(test::RawConnection(server.port).connected());
  CHECK_THROWS_AS(server.endpoint.start("127.0.0.1", 0), std::logic_error);
}

TEST_CASE("stop drains queued events before it returns") {
  aw::Options o = test::options();
  o.workers = 1;
  test::Server server(o);
  std::atomic<int> calls{0};
  server.endpoint.on_any([&](const aw::Event&) {
    std::this_thread::sleep_for(20ms);
    ++calls;
  });
  server.start();
  for (int i = 0; i < 5; ++i) {
    CHECK(test::status_of(server.post_signed(test::body("e" + std::to_string(i)))) == 200);
  }
  server.endpoint.stop();
  CHECK(calls == 5);
  CHECK_FALSE(server.recorder.saw_error(aw::ErrorKind::undelivered_at_stop));
}

TEST_CASE("stop reports every event it could not deliver within drain_timeout") {
  aw::Options o = test::options();
  o.workers = 1;
  o.drain_timeout = 100ms;
  auto latch = std::make_shared<test::Latch>();
  auto handler_returned = std::make_shared<std::atomic<bool>>(false);
  {
    test::Server server(o);
    server.endpoint.on_any([latch, handler_returned](const aw::Event&) {
      latch->wait();
      *handler_returned = true;
    });
    server.start();
    for (const char* id : {"e1", "e2", "e3"}) {
      CHECK(test::status_of(server.post_signed(test::body(id))) == 200);
    }
    REQUIRE(test::eventually([&] { return latch->entered() == 1; }));
    const auto before = std::chrono::steady_clock::now();
    server.endpoint.stop();
    CHECK(std::chrono::steady_clock::now() - before < 5s);  // a stuck handler cannot hang stop
    std::vector<std::string> lost;
    for (const auto& e : server.recorder.errors()) {
      if (e.kind == aw::ErrorKind::undelivered_at_stop) lost.push_back(e.event_id);
    }
    std::sort(lost.begin(), lost.end());
    CHECK(lost == std::vector<std::string>{"e1", "e2", "e3"});
    CHECK(test::status_of(server.post_signed(test::body("e4"))) == -1);  // no longer listening
  }
  latch->release();  // the detached worker finishes on its own
  REQUIRE(test::eventually([&] { return handler_returned->load(); }));
}

TEST_CASE("stop joins idle workers even when the drain ran out of time, not only in time") {
  aw::Options o = test::options();
  o.workers = 4;
  o.drain_timeout = 50ms;
  o.retry_base_delay = std::chrono::hours(1);  // the event waits for its retry past the drain
  o.retry_max_delay = std::chrono::hours(1);
  auto inbox = std::make_shared<aw::MemoryInbox>();
  {
    test::Server server(o, inbox);
    server.endpoint.on_any([](const aw::Event&) { throw std::runtime_error("down"); });
    server.start();
    CHECK(test::status_of(server.post_signed(test::body("e1"))) == 200);
    REQUIRE(test::eventually(
        [&] { return server.recorder.saw_error(aw::ErrorKind::handler_failed); }));
    server.endpoint.stop();
  }
  // No worker was left running, so nothing but this test holds the inbox (a SqliteInbox
  // would otherwise keep its file locked against the next one).
  CHECK(inbox.use_count() == 1);
}

TEST_CASE("the destructor stops the server") {
  int port = 0;
  {
    test::Server server;
    server.start();
    port = server.port;
    CHECK(test::RawConnection(port).connected());
  }
  CHECK_FALSE(test::RawConnection(port).connected());
}

TEST_CASE("mount adds the route to an app's server and its other routes keep working") {
  httplib::Server app;
  app.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  app.set_payload_max_length(1024 * 1024);
  test::Recorder recorder;
  aw::WebhookEndpoint endpoint(test::options());
  endpoint.on_any([&](const aw::Event& e) { recorder.event(e); });
  endpoint.mount(app);
  const int port = app.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { app.listen_after_bind(); });
  REQUIRE(test::eventually([&] { return app.is_running(); }));

  httplib::Client client("127.0.0.1", port);
  const auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->body == "ok");
  const auto b = test::body("e1");
  CHECK(test::status_of(client.Post("/webhooks/allthings", aw::testing::signed_headers(b, test::secret),
                                    b, "application/json")) == 200);
  CHECK(test::status_of(client.Get("/webhooks/allthings")) == 405);
  REQUIRE(test::eventually([&] { return recorder.event_count() == 1; }));

  endpoint.stop();  // the route stays on the app's server, answering 503
  CHECK(test::status_of(client.Post("/webhooks/allthings",
                                    aw::testing::signed_headers(b, test::secret), b,
                                    "application/json")) == 503);
  CHECK(client.Get("/health")->body == "ok");
  app.stop();
  serving.join();
}

TEST_CASE("stats count received, accepted, duplicates and rejections by reason") {
  test::Server server;
  server.endpoint.on_any([](const aw::Event&) {});
  server.start();
  const auto b = test::body("e1");
  server.post_signed(b);
  server.post_signed(b);
  server.post(b, aw::testing::signed_headers(b, "wrong"));
  server.post_signed("[]");
  REQUIRE(test::eventually([&] { return server.endpoint.stats().delivered == 1; }));
  const auto s = server.endpoint.stats();
  CHECK(s.received == 4);
  CHECK(s.accepted == 1);
  CHECK(s.duplicates == 1);
  CHECK(s.rejected == 2);
  CHECK(s.errors_of(aw::ErrorKind::signature_mismatch) == 1);
  CHECK(s.errors_of(aw::ErrorKind::not_an_object) == 1);
  CHECK(s.queue_depth == 0);
}
