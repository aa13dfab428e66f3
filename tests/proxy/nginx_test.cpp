// The reverse-proxy recipe (docs/nginx/allthings-webhooks.conf) run with Debian's nginx in front
// of a real endpoint: deliveries pass unchanged, and the slow and oversized clients of the
// in-process tests are absorbed by nginx.
#include <doctest/doctest.h>

#include "../raw_http.hpp"
#include "../support.hpp"
#include "nginx_fixture.hpp"

namespace aw = allthings::webhooks;

namespace {

// An endpoint with a recorder, and nginx in front of it.
struct Proxied {
  explicit Proxied(aw::Options o = test::options()) : server(std::move(o)) {
    server.endpoint.on_any([this](const aw::Event& e) { server.recorder.event(e); });
    server.start();
    nginx = std::make_unique<test::Nginx>(server.port);
  }

  int status_of_signed(const std::string& body, int read_timeout_seconds = 5) const {
    httplib::Client client("127.0.0.1", nginx->port());
    client.set_read_timeout(read_timeout_seconds, 0);
    return test::status_of(client.Post("/webhooks/allthings",
                                       aw::testing::signed_headers(body, test::secret), body,
                                       "application/json"));
  }

  test::Server server;
  std::unique_ptr<test::Nginx> nginx;
};

}  // namespace

TEST_CASE("through nginx, a signed delivery arrives byte for byte and is dispatched once") {
  Proxied proxied;
  const auto b = test::body("via-nginx", "ticket.created", {{"title", "Ünïcödé"}});
  CHECK(proxied.status_of_signed(b) == 200);
  CHECK(proxied.status_of_signed(b) == 200);  // the duplicate is acknowledged, not dispatched
  REQUIRE(test::eventually([&] { return proxied.server.recorder.event_count() == 1; }));
  CHECK(proxied.server.recorder.events()[0].raw_body() == b);
  CHECK(proxied.server.endpoint.stats().duplicates == 1);
}

TEST_CASE("through nginx, 200 slow-header clients do not hold back signed deliveries") {
  aw::Options o = test::options();
  o.http_threads = 2;
  Proxied proxied(o);
  std::vector<std::unique_ptr<test::RawConnection>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<test::RawConnection>(proxied.nginx->port()));
    REQUIRE(slow.back()->connected());
    slow.back()->send("POST /webhooks/allthings HTTP/1.1\r\nHo");
  }
  for (int i = 0; i < 20; ++i) {
    CHECK(proxied.status_of_signed(test::body("fast-" + std::to_string(i))) == 200);
  }
  REQUIRE(test::eventually([&] { return proxied.server.recorder.event_count() == 20; }));
  // None of them reached the endpoint.
  CHECK(proxied.server.endpoint.stats().received == 20);
}

TEST_CASE("through nginx, slow bodies are buffered by nginx and never hold the endpoint's thread") {
  aw::Options o = test::options();
  o.http_threads = 1;
  Proxied proxied(o);
  std::vector<std::unique_ptr<test::RawConnection>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<test::RawConnection>(proxied.nginx->port()));
    REQUIRE(slow.back()->connected());
    slow.back()->send("POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\n"
                      "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"ev");
  }
  for (int i = 0; i < 5; ++i) {
    CHECK(proxied.status_of_signed(test::body("fast-" + std::to_string(i))) == 200);
  }
  CHECK(proxied.server.endpoint.stats().received == 5);
}

TEST_CASE("through nginx, an oversized body or head is refused by nginx and never reaches the endpoint") {
  Proxied proxied;
  test::RawConnection big_body(proxied.nginx->port());
  REQUIRE(big_body.connected());
  big_body.send("POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n");
  CHECK(big_body.status() == 413);

  std::string fields;
  for (int i = 0; i < 20; ++i) fields += "X-Pad-" + std::to_string(i) + ": " + std::string(4000, 'p') + "\r\n";
  test::RawConnection big_head(proxied.nginx->port());
  REQUIRE(big_head.connected());
  big_head.send("POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n");
  CHECK(big_head.status() == 400);  // nginx: "Request Header Or Cookie Too Large"
  CHECK(proxied.server.endpoint.stats().received == 0);
}

TEST_CASE("through nginx, a request sent as an early-refused body is never run") {
  Proxied proxied;
  const auto inner_body = test::body("smuggled");
  const std::string inner =
      "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "x-allthings-signature: " + aw::testing::sign(inner_body, test::secret) +
      "\r\nx-allthings-signature-timestamp: " + aw::testing::timestamp_millis() +
      "\r\nContent-Length: " + std::to_string(inner_body.size()) + "\r\n\r\n" + inner_body;
  test::RawConnection conn(proxied.nginx->port());
  REQUIRE(conn.connected());
  conn.send("POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            "Content-Length: " + std::to_string(inner.size()) + "\r\n\r\n" + inner);
  CHECK(conn.status() == 415);
  // Another request on nginx's side still works, and the smuggled one was never accepted.
  CHECK(proxied.status_of_signed(test::body("after")) == 200);
  CHECK(proxied.server.endpoint.stats().accepted == 1);
}
