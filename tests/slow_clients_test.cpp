// Slow and idle clients: a head or body that trickles in, connections kept open and idle. None
// of them may hold a thread the signed deliveries need, and each gets a deadline.
#include <doctest/doctest.h>

#include "raw_http.hpp"
#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {

// Sends `bytes` one byte every `pace` on its own thread, until they are all sent, the server
// closed the connection, or stop() is called.
class Trickle {
 public:
  Trickle(int port, std::string bytes, std::chrono::milliseconds pace)
      : conn_(port), thread_([this, bytes = std::move(bytes), pace] {
          for (const char c : bytes) {
            {
              std::unique_lock<std::mutex> lock(mutex_);
              if (stop_cv_.wait_for(lock, pace, [this] { return stopped_; })) return;
            }
            if (!conn_.send_some(std::string(1, c))) return;
            ++sent_;
          }
        }) {}
  ~Trickle() {
    stop();
    thread_.join();
  }
  Trickle(const Trickle&) = delete;
  Trickle& operator=(const Trickle&) = delete;

  void stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    stop_cv_.notify_all();
  }
  test::RawConnection& connection() { return conn_; }
  std::size_t sent() const { return sent_; }

 private:
  test::RawConnection conn_;
  std::atomic<std::size_t> sent_{0};
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopped_ = false;
  std::thread thread_;
};

const std::string slow_head =
    "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "X-Padding: " +
    std::string(2000, 'p') + "\r\n\r\n";

}  // namespace

TEST_CASE("heads that arrive slowly hold no thread: signed deliveries are answered meanwhile") {
  aw::Options o = test::options();
  o.http_threads = 2;
  o.header_timeout = 60s;  // longer than the test: only not waiting for them can answer
  test::Server server(o);
  server.start();
  std::vector<std::unique_ptr<test::RawConnection>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<test::RawConnection>(server.port));
    REQUIRE(slow.back()->connected());
    slow.back()->send("POST /webhooks/allthings HTTP/1.1\r\nHo");  // and nothing more
  }
  auto client = server.client();
  client.set_read_timeout(5, 0);
  for (int i = 0; i < 5; ++i) {
    const auto b = test::body("fast-" + std::to_string(i));
    CHECK(test::status_of(client.Post("/webhooks/allthings",
                                      aw::testing::signed_headers(b, test::secret), b,
                                      "application/json")) == 200);
  }
}

TEST_CASE("connections idle between requests hold no thread") {
  aw::Options o = test::options();
  o.http_threads = 1;
  o.keep_alive_timeout = 60s;
  test::Server server(o);
  server.start();
  std::vector<std::unique_ptr<httplib::Client>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<httplib::Client>("127.0.0.1", server.port));
    idle.back()->set_keep_alive(true);
    const auto b = test::body("idle-" + std::to_string(i));
    CHECK(test::status_of(idle.back()->Post("/webhooks/allthings",
                                            aw::testing::signed_headers(b, test::secret), b,
                                            "application/json")) == 200);
  }
  // Four connections stay open and idle; the one thread still serves a fifth client.
  auto client = server.client();
  client.set_read_timeout(5, 0);
  CHECK(test::status_of(server.post_signed(test::body("fresh"))) == 200);
}

TEST_CASE("a head still incomplete at header_timeout is answered 408 and closed") {
  aw::Options o = test::options();
  o.header_timeout = 300ms;
  test::Server server(o);
  server.start();
  Trickle trickle(server.port, slow_head, 20ms);  // would take 40 s
  const auto received = trickle.connection().read_until_closed(10s);
  CHECK(received.closed);
  const auto responses = test::RawConnection::parse_responses(received.bytes);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].status == 408);
  CHECK(responses[0].body == R"({"error":"request_timeout"})");
  CHECK(server.recorder.saw_error(aw::ErrorKind::request_timeout));
}

TEST_CASE("a body still incomplete at body_timeout is answered 408 and closed") {
  aw::Options o = test::options();
  o.body_timeout = 300ms;
  test::Server server(o);
  server.start();
  const auto b = test::body("slow-body", "ticket.created", {{"pad", std::string(2000, 'x')}});
  const std::string head = "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/json\r\nx-allthings-signature: " +
                           aw::testing::sign(b, test::secret) +
                           "\r\nx-allthings-signature-timestamp: " +
                           aw::testing::timestamp_millis() +
                           "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n";
  Trickle trickle(server.port, b, 20ms);  // would take 40 s
  trickle.connection().send(head);
  const auto received = trickle.connection().read_until_closed(10s);
  CHECK(received.closed);
  const auto responses = test::RawConnection::parse_responses(received.bytes);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].status == 408);
  CHECK(server.endpoint.stats().accepted == 0);
}

TEST_CASE("stop returns promptly while clients keep trickling heads and bodies") {
  aw::Options o = test::options();
  o.header_timeout = 60s;
  o.body_timeout = 60s;
  test::Server server(o);
  server.start();
  std::vector<std::unique_ptr<Trickle>> trickles;
  for (int i = 0; i < 6; ++i) {
    trickles.push_back(std::make_unique<Trickle>(server.port, slow_head, 20ms));
  }
  const std::string body_head =
      "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
  for (int i = 0; i < 2; ++i) {
    trickles.push_back(std::make_unique<Trickle>(server.port, std::string(5000, ' '), 20ms));
    trickles.back()->connection().send(body_head);
  }
  // Every client is well into its request (the server needs no such wait: this is the clients').
  for (auto& trickle : trickles) {
    REQUIRE(test::eventually([&] { return trickle->sent() >= 5; }));
  }
  const auto before = std::chrono::steady_clock::now();
  server.endpoint.stop();
  CHECK(std::chrono::steady_clock::now() - before < 3s);
  for (auto& trickle : trickles) {
    CHECK(trickle->connection().read_until_closed(5s).closed);
  }
}
