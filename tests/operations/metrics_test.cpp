// Receiver::metrics() and /metrics: what each figure counts, that labels stay bounded whatever
// senders send, and that promtool accepts the exposition text as it is.
#include <doctest/doctest.h>

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "../support.hpp"
#include "operations_support.hpp"

namespace aw = allthings::webhooks;

namespace {

std::uint64_t request_count(const aw::Metrics& m, const std::string& outcome, int status) {
  for (const auto& r : m.requests) {
    if (r.outcome == outcome && r.status == status) return r.count;
  }
  return 0;
}

std::uint64_t reason_count(const std::vector<std::pair<std::string, std::uint64_t>>& reasons,
                           const std::string& reason) {
  for (const auto& [name, count] : reasons) {
    if (name == reason) return count;
  }
  return 0;
}

const aw::EventMetrics* event_metrics(const aw::Metrics& m, const std::string& name) {
  for (const auto& e : m.events) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// A receiver that has seen one of everything: accepted, duplicate, refused for each reason,
// events done, retried, dead-lettered and unhandled.
struct BusyServer {
  BusyServer() : server(make_options()) {
    server.endpoint.on("ticket.created", [](const aw::Event& e) {
      if (e.data().value("fail", 0) > e.attempt() - 1) throw std::runtime_error("not yet");
    });
    server.endpoint.on("booking.*", [](const aw::Event&) {});
    server.start();
    const auto now = std::chrono::system_clock::now();
    post(test::body("ok-1"));
    post(test::body("ok-1"));  // duplicate
    post(test::body("retried-once", "ticket.created", {{"fail", 1}}));
    post(test::body("dead", "ticket.created", {{"fail", 9}}));
    post(test::body("b-1", "booking.accepted"));
    post(test::body("nobody", "community-article.published"));
    const auto body = test::body("forged");
    auto forged = aw::testing::signed_headers(body, "another secret");
    server.post(body, forged);
    auto malformed = aw::testing::signed_headers(body, test::secret);
    malformed.erase("x-allthings-signature");
    malformed.emplace("x-allthings-signature", "xyz");
    server.post(body, malformed);
    server.post_signed(test::body("stale"), now - std::chrono::hours(1));
    server.post_signed(test::body("future"), now + std::chrono::hours(1));
    server.post("{}", {});  // unsigned: acknowledged, not dispatched
    httplib::Client client("127.0.0.1", server.port);
    client.Get("/webhooks/allthings");  // 405
    REQUIRE(test::eventually([&] {
      const auto m = server.endpoint.metrics();
      return m.dead_letters == 1 && m.queue_depth == 0;
    }));
  }

  static aw::Options make_options() {
    aw::Options o = test::options();
    o.max_attempts = 3;
    o.retry_base_delay = 1ms;
    o.retry_max_delay = 1ms;
    return o;
  }

  void post(const std::string& body) { REQUIRE(test::status_of(server.post_signed(body)) == 200); }

  test::Server server;
};

}  // namespace

TEST_CASE("metrics count requests by outcome and status, and refusals by reason") {
  BusyServer busy;
  const auto m = busy.server.endpoint.metrics();
  CHECK(m.version == ALLTHINGS_WEBHOOKS_VERSION_STRING);
  CHECK(request_count(m, "accepted", 200) == 5);
  CHECK(request_count(m, "duplicate", 200) == 1);
  CHECK(request_count(m, "signature_mismatch", 401) == 1);
  CHECK(request_count(m, "malformed_signature", 401) == 1);
  CHECK(request_count(m, "stale_timestamp", 401) == 1);
  CHECK(request_count(m, "future_timestamp", 401) == 1);
  CHECK(request_count(m, "unsigned_request", 200) == 1);
  CHECK(request_count(m, "method_not_allowed", 405) == 1);
  CHECK(m.duplicates == 1);
  CHECK(reason_count(m.signature_failures, "mismatch") == 1);
  CHECK(reason_count(m.signature_failures, "malformed") == 1);
  CHECK(reason_count(m.signature_failures, "missing") == 0);  // the policy acknowledges them
  CHECK(reason_count(m.timestamp_failures, "stale") == 1);
  CHECK(reason_count(m.timestamp_failures, "future") == 1);
  CHECK(reason_count(m.timestamp_failures, "missing") == 0);
  CHECK(reason_count(m.errors, "dead_lettered") == 1);
  // Every request that reached the pipeline with its body was timed.
  CHECK(m.acknowledgement.count == 11);
  CHECK(m.acknowledgement.upper_bounds.front() < 0.0001);  // sub-millisecond acks resolve
  CHECK(m.acknowledgement.cumulative_counts.back() <= m.acknowledgement.count);
  CHECK(m.queue_capacity == busy.server.endpoint.options().queue_capacity);
  CHECK(m.ready);
}

TEST_CASE("metrics count events by registered name and outcome, every other name as other") {
  BusyServer busy;
  const auto m = busy.server.endpoint.metrics();
  REQUIRE(m.events.size() == 2);  // "booking.*" is a pattern, not a name
  const auto* ticket = event_metrics(m, "ticket.created");
  const auto* other = event_metrics(m, "other");
  REQUIRE(ticket != nullptr);
  REQUIRE(other != nullptr);
  CHECK(ticket->done == 2);           // ok-1, and retried-once at its second attempt
  CHECK(ticket->retries == 1 + 2);    // retried-once once, dead twice
  CHECK(ticket->dead_lettered == 1);  // dead, at its third attempt
  CHECK(ticket->handler_duration.count == 2 + 3 + 1);
  CHECK(other->done == 2);  // the booking and the unhandled article
  CHECK(m.unhandled == 1);
  CHECK(m.handler_failures == 1 + 3);
  CHECK(m.dead_letters == 1);
  CHECK(m.queue_wait.count == 2 + 3 + 1 + 2);  // every attempt waited in the queue once
  CHECK_FALSE(m.dead_letters_stored);          // the memory inbox keeps none
  CHECK_FALSE(m.inbox_commits);
}

TEST_CASE("names senders invent never become labels") {
  test::Server server;
  server.endpoint.on("ticket.created", [](const aw::Event&) {});
  server.start();
  for (int i = 0; i < 40; ++i) {
    const auto name = "invented.name-" + std::to_string(i);
    REQUIRE(test::status_of(server.post_signed(test::body("e" + std::to_string(i), name))) == 200);
  }
  REQUIRE(test::eventually([&] {
    const auto m = server.endpoint.metrics();
    const auto* other = event_metrics(m, "other");
    return other != nullptr && other->done == 40;
  }));
  const auto text = test::get_body(server.port, "/metrics");
  CHECK(text.find("invented") == std::string::npos);
  CHECK(text.find(R"(allthings_webhooks_events_total{event="other",outcome="done"} 40)") !=
        std::string::npos);
  CHECK(text.find(R"(allthings_webhooks_events_total{event="ticket.created",outcome="done"} 0)") !=
        std::string::npos);
}

TEST_CASE("metrics serves the Prometheus text format with the figures of metrics()") {
  BusyServer busy;
  httplib::Client client("127.0.0.1", busy.server.port);
  const auto res = client.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == aw::prometheus_content_type);
  const std::string& text = res->body;
  for (const char* line : {
           R"(allthings_webhooks_build_info{version=")" ALLTHINGS_WEBHOOKS_VERSION_STRING R"("} 1)",
           R"(allthings_webhooks_requests_total{outcome="accepted",status="200"} 5)",
           R"(allthings_webhooks_requests_total{outcome="signature_mismatch",status="401"} 1)",
           R"(allthings_webhooks_signature_failures_total{reason="mismatch"} 1)",
           R"(allthings_webhooks_timestamp_failures_total{reason="stale"} 1)",
           R"(allthings_webhooks_duplicates_total 1)",
           R"(allthings_webhooks_events_total{event="ticket.created",outcome="dead_letter"} 1)",
           R"(allthings_webhooks_dead_letters_total 1)",
           R"(allthings_webhooks_queue_depth 0)",
           R"(allthings_webhooks_queue_capacity 10000)",
           R"(allthings_webhooks_acknowledgement_duration_seconds_bucket{le="5e-06"} )",
           R"(allthings_webhooks_acknowledgement_duration_seconds_bucket{le="+Inf"} 11)",
           R"(allthings_webhooks_acknowledgement_duration_seconds_count 11)",
           R"(allthings_webhooks_handler_duration_seconds_count{event="ticket.created"} 6)",
           R"(allthings_webhooks_queue_wait_seconds_count 8)",
           R"(allthings_webhooks_ready 1)",
       }) {
    CHECK_MESSAGE(text.find(std::string("\n") + line) != std::string::npos, line);
  }
}

TEST_CASE("promtool check metrics accepts the exposition text") {
  BusyServer busy;
  const auto text = test::get_body(busy.server.port, "/metrics");
  REQUIRE_FALSE(text.empty());
  test::promtool_accepts(text);
}
