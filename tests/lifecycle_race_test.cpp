// start, stop, listen, mount and the destructor called in any order on any threads, with
// requests in flight: no race (the TSan build runs these), nothing accepted once stop() began,
// and every 200 either dispatched or reported as undelivered_at_stop.
#include <doctest/doctest.h>

#include <set>

#include "raw_http.hpp"
#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {

// Ids acknowledged with a 200, delivered to the handler, or reported undelivered at stop.
struct Ledger {
  std::mutex mutex;
  std::set<std::string> acknowledged, delivered, undelivered;

  void add(std::set<std::string>& to, const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex);
    to.insert(id);
  }
  // Acknowledged ids neither delivered nor reported.
  std::vector<std::string> lost() {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<std::string> out;
    for (const auto& id : acknowledged) {
      if (!delivered.count(id) && !undelivered.count(id)) out.push_back(id);
    }
    return out;
  }
};

}  // namespace

TEST_CASE("start and stop on two threads, in either order, never race or serve after stop") {
  for (int round = 0; round < 40; ++round) {
    CAPTURE(round);
    aw::WebhookEndpoint endpoint(test::options());
    std::atomic<int> port{0};
    std::atomic<int> ready{0};
    auto together = [&ready] {  // both threads begin at the same moment
      ++ready;
      while (ready < 2) std::this_thread::yield();
    };
    auto start = [&] {
      together();
      try {
        port = endpoint.start("127.0.0.1", 0);
      } catch (const std::logic_error&) {
        // stop() came first: a stopped endpoint cannot start
      }
    };
    auto stop = [&] {
      together();
      endpoint.stop();
    };
    // Thread creation order alternates, so each call gets to go first.
    std::thread first(round % 2 ? std::function<void()>(start) : std::function<void()>(stop));
    std::thread second(round % 2 ? std::function<void()>(stop) : std::function<void()>(start));
    first.join();
    second.join();
    // Whichever came first, stop() has returned: nothing listens any more.
    if (port != 0) CHECK_FALSE(test::RawConnection(port).connected());
    CHECK_THROWS_AS(endpoint.start("127.0.0.1", 0), std::logic_error);
  }
}

TEST_CASE("listen, stop, mount and the destructor from several threads at once") {
  for (int round = 0; round < 10; ++round) {
    CAPTURE(round);
    httplib::Server app;
    std::atomic<bool> listen_returned{false};
    {
      aw::WebhookEndpoint endpoint(test::options());
      std::thread listener([&] {
        try {
          endpoint.listen("127.0.0.1", 0);
        } catch (const std::logic_error&) {
        }
        listen_returned = true;
      });
      std::thread mounter([&] {
        try {
          endpoint.mount(app);
        } catch (const std::logic_error&) {
        }
      });
      std::thread stopper([&] { endpoint.stop(); });
      stopper.join();
      mounter.join();
      listener.join();
      CHECK(listen_returned);
    }  // the destructor after all of them
  }
}

TEST_CASE("stop while deliveries are in flight: every 200 is dispatched or reported") {
  aw::Options o = test::options();
  o.workers = 1;
  o.drain_timeout = 50ms;
  Ledger ledger;
  auto endpoint = std::make_unique<aw::WebhookEndpoint>(o);
  endpoint->on_any([&](const aw::Event& e) {
    std::this_thread::sleep_for(1ms);
    ledger.add(ledger.delivered, e.id());
  });
  endpoint->on_error([&](const aw::Error& e) {
    if (e.kind == aw::ErrorKind::undelivered_at_stop) ledger.add(ledger.undelivered, e.event_id);
  });
  const int port = endpoint->start("127.0.0.1", 0);
  std::atomic<int> sent{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(5, 0);
      for (int i = 0;; ++i) {
        const std::string id = "s" + std::to_string(t) + "-" + std::to_string(i);
        const auto b = test::body(id);
        const auto res = client.Post("/webhooks/allthings",
                                     aw::testing::signed_headers(b, test::secret), b,
                                     "application/json");
        if (!res) return;  // the server has gone
        ++sent;
        if (res->status == 200) ledger.add(ledger.acknowledged, id);
      }
    });
  }
  REQUIRE(test::eventually([&] { return sent >= 40; }));
  endpoint->stop();
  for (auto& s : senders) s.join();
  endpoint.reset();
  CHECK(ledger.lost().empty());
  CHECK_FALSE(ledger.acknowledged.empty());
}

TEST_CASE("a body still arriving on an application's server when stop() begins is refused, not lost") {
  httplib::Server app;
  app.set_payload_max_length(1024 * 1024);
  test::Recorder recorder;
  aw::WebhookEndpoint endpoint(test::options());
  endpoint.on_any([&](const aw::Event& e) { recorder.event(e); });
  endpoint.on_error([&](const aw::Error& e) { recorder.error(e); });
  endpoint.mount(app);
  const int port = app.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { app.listen_after_bind(); });
  REQUIRE(test::eventually([&] { return app.is_running(); }));

  const auto b = test::body("late");
  test::RawConnection conn(port);
  REQUIRE(conn.connected());
  conn.send("POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "x-allthings-signature: " + aw::testing::sign(b, test::secret) +
            "\r\nx-allthings-signature-timestamp: " + aw::testing::timestamp_millis() +
            "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" +
            b.substr(0, b.size() / 2));
  // The head has passed the receiver's checks once it counts the request.
  REQUIRE(test::eventually([&] { return endpoint.stats().received == 1; }));
  endpoint.stop();
  conn.send(b.substr(b.size() / 2));
  const auto responses = test::RawConnection::parse_responses(conn.read_responses(1));
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].status == 503);
  CHECK(responses[0].body == R"({"error":"stopping"})");
  CHECK(endpoint.stats().accepted == 0);
  CHECK(recorder.event_count() == 0);
  app.stop();
  serving.join();
}
