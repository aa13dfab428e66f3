#include <doctest/doctest.h>

#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {
void check_rejected(const std::function<void(aw::Options&)>& change, const std::string& field) {
  aw::Options o = test::options();
  change(o);
  CAPTURE(field);
  CHECK_THROWS_WITH_AS(aw::WebhookEndpoint{o}, doctest::Contains(field.c_str()), std::invalid_argument);
}
}  // namespace

TEST_CASE("the documented defaults") {
  const aw::Options o;
  CHECK(o.path == "/webhooks/allthings");
  CHECK(o.timestamp_tolerance == std::chrono::minutes(5));
  CHECK(o.future_skew == std::chrono::minutes(1));
  CHECK(o.timestamp_unit == aw::TimestampUnit::automatic);
  CHECK(o.unsigned_policy == aw::UnsignedPolicy::acknowledge);
  CHECK(o.max_body_bytes == 1024 * 1024);
  CHECK(o.dedupe_window == std::chrono::hours(24 * 8));
  CHECK(o.dedupe_window > std::chrono::hours(24 * 7));  // longer than Allthings' retries
  CHECK(o.envelope.id == "/event/id");
  CHECK(o.envelope.name == "/event/name");
  CHECK(o.envelope.data == "/event/data");
}

TEST_CASE("invalid options throw std::invalid_argument naming the field") {
  check_rejected([](aw::Options& o) { o.secrets.clear(); }, "secrets");
  check_rejected([](aw::Options& o) { o.secrets = {"a", ""}; }, "secrets[1]");
  check_rejected([](aw::Options& o) { o.path = "webhooks"; }, "path");
  check_rejected([](aw::Options& o) { o.path = "/hooks/(.*)"; }, "path");
  check_rejected([](aw::Options& o) { o.timestamp_tolerance = std::chrono::seconds(0); },
                 "timestamp_tolerance");
  check_rejected([](aw::Options& o) { o.future_skew = std::chrono::seconds(-1); }, "future_skew");
  check_rejected([](aw::Options& o) { o.max_body_bytes = 0; }, "max_body_bytes");
  check_rejected([](aw::Options& o) { o.workers = 0; }, "workers");
  check_rejected([](aw::Options& o) { o.queue_capacity = 0; }, "queue_capacity");
  check_rejected([](aw::Options& o) { o.dedupe_window = std::chrono::seconds(0); },
                 "dedupe_window");
  check_rejected([](aw::Options& o) { o.dedupe_capacity = 0; }, "dedupe_capacity");
  check_rejected([](aw::Options& o) { o.max_attempts = 0; }, "max_attempts");
  check_rejected([](aw::Options& o) { o.retry_max_delay = std::chrono::milliseconds(1); },
                 "retry_max_delay");
  check_rejected([](aw::Options& o) { o.clock = nullptr; }, "clock");
  check_rejected([](aw::Options& o) { o.http_threads = 0; }, "http_threads");
  check_rejected([](aw::Options& o) { o.envelope.name = "event.name"; }, "envelope.name");
}

TEST_CASE("an invalid option's message never contains a secret") {
  aw::Options o = test::options();
  o.secrets = {"super-secret-value", ""};
  try {
    aw::WebhookEndpoint endpoint(o);
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("super-secret-value") == std::string::npos);
  }
}
