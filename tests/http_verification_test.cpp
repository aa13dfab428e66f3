#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {
httplib::Headers headers_with(const std::string& signature, const std::string& timestamp) {
  return {{"x-allthings-signature", signature}, {"x-allthings-signature-timestamp", timestamp}};
}
std::string now_ms() { return aw::testing::timestamp_millis(); }
}  // namespace

TEST_CASE("the shared vectors verify over HTTP and nothing else does") {
  std::ifstream file(ALLTHINGS_WEBHOOKS_VECTORS);
  const auto vectors = nlohmann::json::parse(file).at("vectors");
  for (const auto& v : vectors) {
    const auto message = v.at("message").get<std::string>();
    if (message.find("\"name\"") == std::string::npos) continue;  // not an envelope
    aw::Options o = test::options();
    o.secrets = {v.at("key").get<std::string>()};
    test::Server server(o);
    server.endpoint.on_any([&](const aw::Event& e) { server.recorder.event(e); });
    server.start();
    CHECK(test::status_of(server.post(message, headers_with(v.at("hex"), now_ms()))) == 200);
    REQUIRE(test::eventually([&] { return server.recorder.event_count() == 1; }));
    CHECK(server.recorder.events()[0].raw_body() == message);
    CHECK(server.recorder.events()[0].id() == "6a0f3c1e-9a2b-4c1d-8e7f-0123456789ab");
    // Handlers see the request headers, by name in any case.
    CHECK(server.recorder.events()[0].header("X-Allthings-Signature") == v.at("hex"));
    CHECK(server.recorder.events()[0].attempt() == 1);
  }
}

TEST_CASE("a signature made with the second of three secrets verifies") {
  aw::Options o = test::options();
  o.secrets = {"one", "two", "three"};
  test::Server server(o);
  server.start();
  const auto b = test::body("e1");
  CHECK(test::status_of(server.post(b, headers_with(aw::testing::sign(b, "two"), now_ms()))) ==
        200);
  CHECK(test::status_of(server.post(b, headers_with(aw::testing::sign(b, "four"), now_ms()))) ==
        401);
}

TEST_CASE("upper-case hex verifies") {
  test::Server server;
  server.start();
  const auto b = test::body("e1");
  auto sig = aw::testing::sign(b, test::secret);
  std::transform(sig.begin(), sig.end(), sig.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  CHECK(test::status_of(server.post(b, headers_with(sig, now_ms()))) == 200);
}

TEST_CASE("malformed signatures are 401 without a crash") {
  test::Server server;
  server.start();
  const auto b = test::body("e1");
  const auto good = aw::testing::sign(b, test::secret);
  for (const std::string& sig :
       {good.substr(0, 63), good + "0", good.substr(0, 62) + "zz", std::string(64, 'g'),
        "sha256=" + good, std::string(1000, 'a')}) {
    CAPTURE(sig);
    const auto res = server.post(b, headers_with(sig, now_ms()));
    CHECK(test::status_of(res) == 401);
    CHECK(res->body == R"({"error":"invalid_signature"})");
  }
  CHECK(server.recorder.saw_error(aw::ErrorKind::malformed_signature));
  CHECK(server.endpoint.stats().accepted == 0);
}

TEST_CASE("one flipped byte of the body is a 401") {
  test::Server server;
  server.endpoint.on_any([&](const aw::Event& e) { server.recorder.event(e); });
  server.start();
  const auto b = test::body("e1");
  const auto sig = aw::testing::sign(b, test::secret);
  auto flipped = b;
  flipped[flipped.size() / 2] ^= 0x01;
  const auto res = server.post(flipped, headers_with(sig, now_ms()));
  CHECK(test::status_of(res) == 401);
  CHECK(server.recorder.saw_error(aw::ErrorKind::signature_mismatch));
  // The response never echoes what the signature should have been.
  CHECK(res->body.find(aw::testing::sign(flipped, test::secret)) == std::string::npos);
  CHECK(res->body.find(test::secret) == std::string::npos);
  CHECK(server.recorder.event_count() == 0);
}

TEST_CASE("stale and future timestamps are 401 with distinct error kinds") {
  test::ManualClock clock;
  aw::Options o = test::options();
  o.clock = clock.clock();
  test::Server server(o);
  server.start();
  const auto b = test::body("e1");
  const auto sig = aw::testing::sign(b, test::secret);
  const auto at = [&](std::chrono::system_clock::duration offset) {
    return aw::testing::timestamp_millis(clock.now() + offset);
  };
  CHECK(test::status_of(server.post(b, headers_with(sig, at(-6min)))) == 401);
  CHECK(server.recorder.saw_error(aw::ErrorKind::stale_timestamp));
  CHECK_FALSE(server.recorder.saw_error(aw::ErrorKind::future_timestamp));
  const auto future = server.post(b, headers_with(sig, at(2min)));
  CHECK(test::status_of(future) == 401);
  CHECK(future->body == R"({"error":"invalid_timestamp"})");
  CHECK(server.recorder.saw_error(aw::ErrorKind::future_timestamp));
  CHECK(test::status_of(server.post(b, headers_with(sig, at(-4min)))) == 200);

  clock.advance(std::chrono::hours(1));  // the same delivery, an hour later, is stale
  const auto e2 = test::body("e2");
  const auto an_hour_ago = aw::testing::signed_headers(e2, test::secret, clock.now() - 1h);
  CHECK(test::status_of(server.post(e2, an_hour_ago)) == 401);
}

TEST_CASE("seconds and milliseconds both work") {
  test::Server server;
  server.start();
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                          now.time_since_epoch()).count());
  const auto b1 = test::body("e1"), b2 = test::body("e2");
  CHECK(test::status_of(server.post(b1, headers_with(aw::testing::sign(b1, test::secret),
                                                     seconds))) == 200);
  CHECK(test::status_of(server.post(b2, headers_with(aw::testing::sign(b2, test::secret),
                                                     aw::testing::timestamp_millis(now)))) ==
        200);
}

TEST_CASE("malformed timestamps are 401") {
  test::Server server;
  server.start();
  const auto b = test::body("e1");
  const auto sig = aw::testing::sign(b, test::secret);
  for (const std::string ts : {"123abc", "+5", "", "12345678901234567890", "1.5e12", "0x10"}) {
    CAPTURE(ts);
    CHECK(test::status_of(server.post(b, headers_with(sig, ts))) == 401);
  }
  CHECK(test::status_of(server.post(b, {{"x-allthings-signature", sig}})) == 401);
  CHECK(server.recorder.saw_error(aw::ErrorKind::malformed_timestamp));
  CHECK(server.recorder.saw_error(aw::ErrorKind::missing_timestamp));
}

TEST_CASE("an unsigned request is acknowledged and never dispatched") {
  test::Server server;
  server.endpoint.on_any([&](const aw::Event& e) { server.recorder.event(e); });
  server.endpoint.on_unhandled([&](const aw::Event& e) { server.recorder.event(e); });
  server.start();
  const auto res = server.post(test::body("e1"), {});
  CHECK(test::status_of(res) == 200);
  CHECK(server.recorder.saw_error(aw::ErrorKind::unsigned_request));
  CHECK(server.endpoint.stats().accepted == 0);
  CHECK(server.endpoint.stats().queue_depth == 0);
  CHECK(server.recorder.event_count() == 0);
}

TEST_CASE("the reject policy answers an unsigned request with 401") {
  aw::Options o = test::options();
  o.unsigned_policy = aw::UnsignedPolicy::reject;
  test::Server server(o);
  server.start();
  const auto res = server.post(test::body("e1"), {});
  CHECK(test::status_of(res) == 401);
  CHECK(res->body == R"({"error":"missing_signature"})");
}
