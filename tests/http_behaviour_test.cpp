#include <doctest/doctest.h>

#include "raw_http.hpp"
#include "support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("other methods on the path are 405 with Allow: POST") {
  test::Server server;
  server.start();
  auto client = server.client();
  const std::string path = server.endpoint.options().path;
  for (const auto& res : {client.Get(path.c_str()), client.Put(path.c_str(), "{}", "application/json"),
                          client.Delete(path.c_str()), client.Patch(path.c_str(), "{}", "application/json")}) {
    REQUIRE(res);
    CHECK(res->status == 405);
    CHECK(res->get_header_value("Allow") == "POST");
    CHECK(res->body == R"({"error":"method_not_allowed"})");
  }
  CHECK(server.recorder.saw_error(aw::ErrorKind::method_not_allowed));
  CHECK(test::status_of(client.Get("/elsewhere")) == 404);
}

TEST_CASE("a Content-Length over the limit is 413 before the body is read") {
  aw::Options o = test::options();
  o.max_body_bytes = 1000;
  test::Server server(o);
  server.start();
  test::RawConnection conn(server.port);
  REQUIRE(conn.connected());
  // Announces 10 MB and sends none of it: only an answer before reading can arrive.
  conn.send("POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 10000000\r\n\r\n");
  CHECK(conn.status() == 413);
  CHECK(server.recorder.saw_error(aw::ErrorKind::body_too_large));
}

TEST_CASE("a chunked body that grows over the limit is 413") {
  aw::Options o = test::options();
  o.max_body_bytes = 1000;
  test::Server server(o);
  server.endpoint.on_any([&](const aw::Event& e) { server.recorder.event(e); });
  server.start();
  test::RawConnection conn(server.port);
  REQUIRE(conn.connected());
  std::string request =
      "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nx-allthings-signature: " + std::string(64, 'a') + "\r\n\r\n";
  const std::string chunk(400, ' ');
  for (int i = 0; i < 5; ++i) request += "190\r\n" + chunk + "\r\n";  // 0x190 = 400 bytes
  request += "0\r\n\r\n";
  conn.send(request);
  CHECK(conn.status() == 413);
  CHECK(server.recorder.saw_error(aw::ErrorKind::body_too_large));
  CHECK(server.endpoint.stats().accepted == 0);
}

TEST_CASE("a body at the limit is accepted") {
  aw::Options o = test::options();
  const auto b = test::body("e1", "ticket.created", {{"pad", std::string(500, 'x')}});
  o.max_body_bytes = b.size();
  test::Server server(o);
  server.start();
  CHECK(test::status_of(server.post_signed(b)) == 200);
  const auto bigger = test::body("e2", "ticket.created", {{"pad", std::string(501, 'x')}});
  CHECK(test::status_of(server.post_signed(bigger)) == 413);
}

TEST_CASE("an explicit non-JSON content type is 415, a missing one is accepted") {
  test::Server server;
  server.start();
  auto client = server.client();
  const auto b = test::body("e1");
  const auto headers = aw::testing::signed_headers(b, test::secret);
  const std::string path = server.endpoint.options().path;
  CHECK(test::status_of(client.Post(path.c_str(), headers, b, "text/plain")) == 415);
  CHECK(test::status_of(client.Post(path.c_str(), headers, b, "application/x-www-form-urlencoded")) == 415);
  CHECK(test::status_of(client.Post(path.c_str(), headers, b, "application/json; charset=utf-8")) == 200);
  CHECK(server.recorder.saw_error(aw::ErrorKind::unsupported_media_type));

  test::RawConnection conn(server.port);
  const auto b2 = test::body("e2");
  conn.send("POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nx-allthings-signature: " +
            aw::testing::sign(b2, test::secret) + "\r\nx-allthings-signature-timestamp: " +
            aw::testing::timestamp_millis() + "\r\nContent-Length: " + std::to_string(b2.size()) +
            "\r\n\r\n" + b2);
  CHECK(conn.status() == 200);
}

TEST_CASE("a compressed body is 415: the signature covers the bytes as sent") {
  test::Server server;
  server.start();
  const auto b = test::body("e1");
  auto headers = aw::testing::signed_headers(b, test::secret);
  headers.emplace("Content-Encoding", "gzip");
  CHECK(test::status_of(server.post(b, headers)) == 415);
}

TEST_CASE("JSON media types match in any case and with a +json suffix, and identity encoding is plain") {
  test::Server server;
  server.start();
  auto client = server.client();
  const std::string path = server.endpoint.options().path;
  int n = 0;
  auto post = [&](const std::string& type, const std::string& encoding) {
    const auto b = test::body("media-" + std::to_string(++n));
    auto headers = aw::testing::signed_headers(b, test::secret);
    if (!encoding.empty()) headers.emplace("Content-Encoding", encoding);
    return test::status_of(client.Post(path.c_str(), headers, b, type.c_str()));
  };
  CHECK(post("Application/JSON", "") == 200);
  CHECK(post("application/vnd.allthings+JSON; charset=utf-8", "") == 200);
  CHECK(post("application/json", "Identity") == 200);
  CHECK(post("application/jsonx", "") == 415);
  CHECK(post("+json", "") == 415);
  CHECK(post("application/json", "br") == 415);
}

TEST_CASE("malformed JSON, a non-object body and a missing name are 400") {
  test::Server server;
  server.start();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"event\":", R"({"error":"malformed_json"})"},
      {"[1,2,3]", R"({"error":"not_an_object"})"},
      {R"({"event":{"id":"x"}})", R"({"error":"missing_event_name"})"},
      {"", R"({"error":"malformed_json"})"}};
  for (const auto& bad : cases) {
    CAPTURE(bad.first);
    const auto res = server.post_signed(bad.first);
    CHECK(test::status_of(res) == 400);
    CHECK(res->body == bad.second);
  }
}

TEST_CASE("error bodies are short fixed JSON without secrets or exception text") {
  aw::Options o = test::options();
  test::Server server(o);
  server.endpoint.on_any([](const aw::Event&) { throw std::runtime_error("db password hunter2"); });
  server.start();
  const auto b = test::body("e1");
  for (const auto& res :
       {server.post(b, {{"x-allthings-signature", "00"}}), server.post_signed("{bad"),
        server.post(b, aw::testing::signed_headers(b, "wrong"))}) {
    REQUIRE(res);
    CHECK(res->body.size() < 64);
    CHECK(nlohmann::json::parse(res->body).contains("error"));
    CHECK(res->body.find(test::secret) == std::string::npos);
  }
  const auto ok = server.post_signed(b);
  CHECK(test::status_of(ok) == 200);
  CHECK(ok->body == R"({"status":"accepted"})");
  CHECK(ok->body.find("hunter2") == std::string::npos);
}

TEST_CASE("a failing inbox is a 503, never a 200") {
  class ThrowingInbox final : public aw::Inbox {
   public:
    void attach(const aw::Options&) override {}
    aw::Acceptance accept(std::shared_ptr<const aw::EventRecord>) override {
      throw std::runtime_error("disk on fire");
    }
    std::optional<aw::Delivery> next(std::chrono::milliseconds wait) override {
      std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(5)));
      return std::nullopt;
    }
    void complete(const aw::Delivery&) override {}
    void retry_later(const aw::Delivery&, std::vector<std::size_t>,
                     std::chrono::milliseconds) override {}
    void dead_letter(const aw::Delivery&, const std::string&) override {}
    std::size_t depth() const override { return 0; }
    void close() override {}
    std::vector<std::shared_ptr<const aw::EventRecord>> take_unfinished() override { return {}; }
  };
  test::Server server(test::options(), std::make_shared<ThrowingInbox>());
  server.start();
  const auto res = server.post_signed(test::body("e1"));
  CHECK(test::status_of(res) == 503);
  CHECK(res->get_header_value("Retry-After") == "30");
  CHECK(server.recorder.saw_error(aw::ErrorKind::inbox_unavailable));
}
