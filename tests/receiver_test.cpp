// A Receiver fed without any HTTP server, as another server, a serverless handler or a replay
// tool would feed it.
#include <doctest/doctest.h>

#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {
aw::HeaderList signed_list(const std::string& body) {
  return {{"X-Allthings-Signature", aw::testing::sign(body, test::secret)},
          {"x-allthings-signature-timestamp", aw::testing::timestamp_millis()},
          {"Content-Type", "application/json"}};
}
}  // namespace

TEST_CASE("a Receiver verifies, acknowledges and dispatches without sockets") {
  aw::Receiver receiver(test::options());
  test::Recorder recorder;
  receiver.on_any([&](const aw::Event& e) { recorder.event(e); });
  const auto b = test::body("e1");

  const auto reply = receiver.handle("POST", signed_list(b), b);
  CHECK(reply.status == 200);
  CHECK(reply.body == R"({"status":"accepted"})");
  CHECK(reply.headers().empty());
  CHECK(receiver.stats().queue_depth == 1);  // waits for the workers

  receiver.start();
  REQUIRE(test::eventually([&] { return recorder.event_count() == 1; }));
  const auto event = recorder.events()[0];
  CHECK(event.id() == "e1");
  CHECK(event.raw_body() == b);
  CHECK(event.header("x-allthings-signature") == aw::testing::sign(b, test::secret));
  CHECK(event.headers()[0].first == "x-allthings-signature");  // names lower-cased once

  CHECK(receiver.handle("POST", signed_list(b), b).body == R"({"status":"duplicate"})");
  receiver.stop();
  CHECK(receiver.handle("POST", signed_list(b), b).status == 503);
}

TEST_CASE("a Receiver answers what the headers alone refuse before the body is read") {
  aw::Options o = test::options();
  o.max_body_bytes = 100;
  aw::Receiver receiver(o);

  const auto get = receiver.check_headers("GET", {});
  REQUIRE(get);
  CHECK(get->status == 405);
  CHECK(get->headers() == aw::HeaderList{{"Allow", "POST"}, {"Connection", "close"}});

  const auto large = receiver.check_headers("POST", {{"Content-Length", "101"}});
  REQUIRE(large);
  CHECK(large->status == 413);
  CHECK(large->close_connection);

  const auto text = receiver.check_headers("POST", {{"content-type", "text/plain"}});
  REQUIRE(text);
  CHECK(text->status == 415);
  CHECK_FALSE(receiver.check_headers("POST", {{"Content-Length", "100"}}));

  // Without a Content-Length the transport-free path still holds the limit.
  CHECK(receiver.handle("POST", {}, std::string(101, ' ')).status == 413);
  CHECK(receiver.stats().received == 4);
  CHECK(receiver.stats().errors_of(aw::ErrorKind::method_not_allowed) == 1);
}

TEST_CASE("a present but empty signature header is a bad signature, not an unsigned ping") {
  aw::Receiver receiver(test::options());
  const auto b = test::body("e1");
  const auto reply =
      receiver.handle("POST",
                      {{"x-allthings-signature", ""},
                       {"x-allthings-signature-timestamp", aw::testing::timestamp_millis()}},
                      b);
  CHECK(reply.status == 401);
  CHECK(receiver.stats().queue_depth == 0);
}

namespace {
// A scheme that names the event in headers, as several senders do.
class HeaderNamedScheme final : public aw::Scheme {
 public:
  std::string_view name() const override { return "header-named"; }
  bool is_signed(const aw::HeaderList& headers) const override {
    return aw::find_header(headers, "x-token").has_value();
  }
  std::optional<aw::Refusal> verify(const aw::HeaderList& headers, std::string_view,
                                    std::chrono::system_clock::time_point) const override {
    if (aw::find_header(headers, "x-token") == std::string_view("let-me-in")) return std::nullopt;
    return aw::Refusal{aw::ErrorKind::signature_mismatch, "x-token is wrong"};
  }
  std::string event_id(const aw::HeaderList& headers) const override {
    return std::string(aw::find_header(headers, "x-delivery").value_or(""));
  }
  std::string event_name(const aw::HeaderList& headers) const override {
    return std::string(aw::find_header(headers, "x-event").value_or(""));
  }
  aw::HeaderList sign(std::string_view, std::string_view secret,
                      std::chrono::system_clock::time_point) const override {
    return {{"x-token", std::string(secret)}};
  }
};
}  // namespace

TEST_CASE("a scheme may take the event's id and name from headers and sign for tests") {
  aw::Options o = test::options();
  o.scheme = [](const aw::Options&) { return std::make_shared<HeaderNamedScheme>(); };
  aw::Receiver receiver(o);
  test::Recorder recorder;
  receiver.on("push", [&](const aw::Event& e) { recorder.event(e); });
  receiver.start();

  auto headers = aw::testing::sign_headers(o, "{}", "let-me-in");
  headers.emplace_back("X-Delivery", "d-1");
  headers.emplace_back("X-Event", "push");
  CHECK(receiver.handle("POST", headers, "{}").status == 200);
  REQUIRE(test::eventually([&] { return recorder.event_count() == 1; }));
  CHECK(recorder.events()[0].id() == "d-1");
  CHECK(recorder.events()[0].name() == "push");

  CHECK(receiver.handle("POST", {{"x-token", "guess"}}, "{}").status == 401);
  CHECK(receiver.handle("POST", headers, "{}").body == R"({"status":"duplicate"})");
}
