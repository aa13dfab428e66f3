// What must neither crash nor lose an event: deeply nested bodies, dates outside the clock's
// range, options that would overflow the back-off, and an inbox that throws on a worker.
#include <doctest/doctest.h>

#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {

std::string nested_data_body(const std::string& id, std::size_t depth) {
  // {"event":{"id":..,"name":..,"data":[[...]]}}: two objects, then `depth - 2` arrays.
  return R"({"event":{"id":")" + id + R"(","name":"ticket.created","data":)" +
         std::string(depth - 2, '[') + std::string(depth - 2, ']') + "}}";
}

}  // namespace

TEST_CASE("a body nested deeper than max_json_depth is 400 before the 200, and never dispatched") {
  test::Server server;
  std::atomic<std::size_t> dumped{0};
  server.endpoint.on_any([&](const aw::Event& e) { dumped = e.data().dump().size(); });
  server.start();
  const auto limit = server.endpoint.options().max_json_depth;
  REQUIRE(limit == 128);

  const auto deep = server.post_signed(nested_data_body("deep", 100000));
  CHECK(test::status_of(deep) == 400);
  CHECK(deep->body == R"({"error":"too_deeply_nested"})");
  CHECK(test::status_of(server.post_signed(nested_data_body("deeper", limit + 1))) == 400);
  CHECK(server.recorder.saw_error(aw::ErrorKind::too_deeply_nested));

  // At the limit the handler gets the event and may walk all of it.
  CHECK(test::status_of(server.post_signed(nested_data_body("at-limit", limit))) == 200);
  REQUIRE(test::eventually([&] { return dumped == 2 * (limit - 2); }));
  CHECK(server.endpoint.stats().accepted == 1);
}

TEST_CASE("createdDate outside the clock's range gives no time, never a wrong one") {
  auto created = [](const std::string& date) {
    const auto body = R"({"event":{"id":"d","name":"x","createdDate":")" + date + R"("}})";
    auto parsed = aw::detail::EnvelopeParser(aw::EnvelopePaths{}, 128)
                      .parse(body, {}, std::chrono::system_clock::now());
    return aw::Event(std::get<std::shared_ptr<aw::EventRecord>>(std::move(parsed)), 1).created();
  };
  CHECK_FALSE(created("4052-01-01T00:00:00Z"));
  CHECK_FALSE(created("9999-12-31T23:59:59.999999Z"));
  CHECK_FALSE(created("1600-01-01T00:00:00Z"));
  CHECK_FALSE(created("0000-01-01T00:00:00+23:59"));
  const auto inside = created("2262-01-01T00:00:00Z");
  REQUIRE(inside);
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(inside->time_since_epoch()).count() ==
        9214646400LL);
  const auto old = created("1700-06-01T12:00:00Z");
  REQUIRE(old);
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(old->time_since_epoch()).count() ==
        -8507246400LL);
}

TEST_CASE("durations beyond ten years and absurd attempt counts are refused by the options") {
  auto rejected = [](const std::function<void(aw::Options&)>& change, const char* field) {
    aw::Options o = test::options();
    change(o);
    CAPTURE(field);
    CHECK_THROWS_WITH_AS(aw::Receiver{o}, doctest::Contains(field), std::invalid_argument);
  };
  rejected([](aw::Options& o) { o.retry_max_delay = std::chrono::milliseconds::max(); },
           "retry_max_delay");
  rejected([](aw::Options& o) {
    o.retry_base_delay = std::chrono::hours(24 * 365 * 20);
    o.retry_max_delay = o.retry_base_delay;
  }, "retry_base_delay");
  rejected([](aw::Options& o) { o.max_attempts = 1000000; }, "max_attempts");
  rejected([](aw::Options& o) { o.drain_timeout = std::chrono::milliseconds::max(); },
           "drain_timeout");
  rejected([](aw::Options& o) { o.dedupe_window = std::chrono::seconds::max(); }, "dedupe_window");
  rejected([](aw::Options& o) { o.timestamp_tolerance = std::chrono::seconds::max(); },
           "timestamp_tolerance");
  rejected([](aw::Options& o) { o.max_json_depth = 0; }, "max_json_depth");
  rejected([](aw::Options& o) { o.max_json_depth = 100000; }, "max_json_depth");
  rejected([](aw::Options& o) { o.header_timeout = std::chrono::milliseconds(0); },
           "header_timeout");
  rejected([](aw::Options& o) { o.body_timeout = std::chrono::milliseconds(-1); }, "body_timeout");
  rejected([](aw::Options& o) { o.max_request_line_bytes = 10; }, "max_request_line_bytes");
  rejected([](aw::Options& o) { o.max_header_bytes = 100; }, "max_header_bytes");
  rejected([](aw::Options& o) { o.max_header_count = 0; }, "max_header_count");
}

TEST_CASE("the back-off reaches its cap and stays there for every allowed attempt count") {
  aw::detail::Dispatcher::Settings settings;
  settings.retry_base_delay = std::chrono::milliseconds(3);
  settings.retry_max_delay = aw::detail::longest_duration;  // the largest the options allow
  CHECK(aw::detail::Dispatcher::backoff(settings, 1) == std::chrono::milliseconds(3));
  CHECK(aw::detail::Dispatcher::backoff(settings, 4) == std::chrono::milliseconds(24));
  for (const int attempt : {40, 64, 65, 100, 9999}) {
    CAPTURE(attempt);
    CHECK(aw::detail::Dispatcher::backoff(settings, attempt) == settings.retry_max_delay);
  }
  settings.retry_max_delay = std::chrono::milliseconds::max();  // beyond the options: still no UB
  CHECK(aw::detail::Dispatcher::backoff(settings, 200) == settings.retry_max_delay);
}

namespace {

// A MemoryInbox whose worker-side operations throw on demand.
class FailingInbox final : public aw::Inbox {
 public:
  std::atomic<bool> fail_next{false}, fail_complete{false}, fail_retry{false},
      fail_dead_letter{false};

  void attach(const aw::Options& o) override { inner_.attach(o); }
  aw::Acceptance accept(std::shared_ptr<const aw::EventRecord> r) override {
    return inner_.accept(std::move(r));
  }
  std::optional<aw::Delivery> next(std::chrono::milliseconds wait) override {
    if (fail_next.exchange(false)) throw std::runtime_error("next broke");
    return inner_.next(wait);
  }
  void complete(const aw::Delivery& d) override {
    if (fail_complete) throw std::runtime_error("complete broke");
    inner_.complete(d);
  }
  void retry_later(const aw::Delivery& d, std::vector<std::size_t> failed,
                   std::chrono::milliseconds delay) override {
    if (fail_retry) throw std::runtime_error("retry broke");
    inner_.retry_later(d, std::move(failed), delay);
  }
  void dead_letter(const aw::Delivery& d, const std::string& reason) override {
    if (fail_dead_letter) throw 42;  // not even a std::exception
    inner_.dead_letter(d, reason);
  }
  std::size_t depth() const override { return inner_.depth(); }
  void close() override { inner_.close(); }
  std::vector<std::shared_ptr<const aw::EventRecord>> take_unfinished() override {
    return inner_.take_unfinished();
  }

 private:
  aw::MemoryInbox inner_;
};

std::vector<std::string> ids_reported(test::Recorder& recorder, aw::ErrorKind kind) {
  std::vector<std::string> ids;
  for (const auto& e : recorder.errors()) {
    if (e.kind == kind) ids.push_back(e.event_id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

TEST_CASE("an inbox that throws on a worker is reported, the event kept, and the worker goes on") {
  aw::Options o = test::options();
  o.workers = 1;
  o.max_attempts = 2;
  o.drain_timeout = 100ms;
  auto inbox = std::make_shared<FailingInbox>();
  test::Recorder handled;
  std::atomic<bool> handler_fails{false};
  {
    test::Server server(o, inbox);
    server.endpoint.on_any([&](const aw::Event& e) {
      if (handler_fails) throw std::runtime_error("handler down");
      handled.event(e);
    });
    server.start();

    inbox->fail_next = true;  // the worker's next() throws once, then works
    CHECK(test::status_of(server.post_signed(test::body("after-next"))) == 200);
    REQUIRE(test::eventually([&] { return handled.event_count() == 1; }));

    inbox->fail_complete = true;  // handled, but the inbox cannot record it
    CHECK(test::status_of(server.post_signed(test::body("complete-fails"))) == 200);
    REQUIRE(test::eventually([&] { return handled.event_count() == 2; }));
    inbox->fail_complete = false;

    handler_fails = true;
    inbox->fail_retry = true;  // the handler throws and the retry cannot be scheduled
    CHECK(test::status_of(server.post_signed(test::body("retry-fails"))) == 200);
    REQUIRE(test::eventually([&] {
      return ids_reported(server.recorder, aw::ErrorKind::inbox_failed).size() == 3;
    }));
    inbox->fail_retry = false;

    inbox->fail_dead_letter = true;  // two failed attempts, and the dead letter fails too
    CHECK(test::status_of(server.post_signed(test::body("dead-letter-fails"))) == 200);
    REQUIRE(test::eventually([&] {
      return ids_reported(server.recorder, aw::ErrorKind::inbox_failed).size() == 4;
    }));

    // The worker still runs: a healthy event goes through.
    handler_fails = false;
    inbox->fail_dead_letter = false;
    CHECK(test::status_of(server.post_signed(test::body("healthy"))) == 200);
    REQUIRE(test::eventually([&] { return handled.event_count() == 3; }));

    CHECK(ids_reported(server.recorder, aw::ErrorKind::inbox_failed) ==
          std::vector<std::string>{"", "complete-fails", "dead-letter-fails", "retry-fails"});
    server.endpoint.stop();
    // Events whose outcome the inbox could not record were kept, and stop() reports them.
    CHECK(ids_reported(server.recorder, aw::ErrorKind::undelivered_at_stop) ==
          std::vector<std::string>{"complete-fails", "dead-letter-fails", "retry-fails"});
  }
}
