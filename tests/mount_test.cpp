// WebhookEndpoint::mount on an application's own server, which may have no payload limit of
// its own: the endpoint's max_body_bytes must hold there too, to the byte.
#include <doctest/doctest.h>

#include <httplib.h>

#include <thread>

#include "raw_http.hpp"
#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {
// Sends `body` chunked, in chunks of at most 400 bytes, signed; returns the status.
int post_chunked(int port, const std::string& body) {
  test::RawConnection conn(port);
  REQUIRE(conn.connected());
  const auto headers = aw::testing::signed_headers(body, test::secret);
  std::string request =
      "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  for (std::size_t at = 0; at < body.size(); at += 400) {
    const auto chunk = body.substr(at, 400);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", chunk.size());
    request += std::string(size) + "\r\n" + chunk + "\r\n";
  }
  request += "0\r\n\r\n";
  conn.send(request);
  return conn.status();
}
}  // namespace

TEST_CASE("a mounted endpoint holds max_body_bytes to the byte on a server without a limit") {
  const auto at_limit = test::body("e1", "ticket.created", {{"pad", std::string(900, 'x')}});
  const auto over_limit = test::body("e2", "ticket.created", {{"pad", std::string(901, 'x')}});
  aw::Options o = test::options();
  o.max_body_bytes = at_limit.size();

  httplib::Server app;  // no set_payload_max_length: the app's own choice
  aw::WebhookEndpoint endpoint(o);
  endpoint.mount(app);
  const int port = app.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread serving([&] { app.listen_after_bind(); });
  REQUIRE(test::eventually([&] { return app.is_running(); }));

  CHECK(post_chunked(port, at_limit) == 200);
  CHECK(post_chunked(port, over_limit) == 413);
  CHECK(endpoint.stats().accepted == 1);

  app.stop();
  serving.join();
  endpoint.stop();
}
