#include <doctest/doctest.h>

#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {
std::shared_ptr<const aw::EventRecord> record(const std::string& id) {
  auto r = std::make_shared<aw::EventRecord>();
  r->id = id;
  r->name = "ticket.created";
  return r;
}
aw::MemoryInbox::Limits limits(test::ManualClock& clock) {
  aw::MemoryInbox::Limits l;
  l.queue_capacity = 3;
  l.dedupe_window = std::chrono::hours(1);
  l.dedupe_capacity = 100;
  l.clock = clock.clock();
  return l;
}
}  // namespace

TEST_CASE("MemoryInbox hands events out in arrival order and counts them until finished") {
  test::ManualClock clock;
  aw::MemoryInbox inbox(limits(clock));
  CHECK(inbox.accept(record("a")) == aw::Acceptance::accepted);
  CHECK(inbox.accept(record("b")) == aw::Acceptance::accepted);
  CHECK(inbox.accept(record("a")) == aw::Acceptance::duplicate);
  CHECK(inbox.depth() == 2);
  auto first = inbox.next(0ms);
  REQUIRE(first);
  CHECK(first->record->id == "a");
  CHECK(first->attempt == 1);
  CHECK(inbox.depth() == 2);  // handed out is not finished
  inbox.complete(*first);
  CHECK(inbox.depth() == 1);
  CHECK(inbox.next(0ms)->record->id == "b");
  CHECK_FALSE(inbox.next(0ms));
}

TEST_CASE("MemoryInbox refuses when full and then remembers nothing of the refused event") {
  test::ManualClock clock;
  aw::MemoryInbox inbox(limits(clock));
  for (const char* id : {"a", "b", "c"}) CHECK(inbox.accept(record(id)) == aw::Acceptance::accepted);
  CHECK(inbox.accept(record("d")) == aw::Acceptance::full);
  inbox.complete(*inbox.next(0ms));
  CHECK(inbox.accept(record("d")) == aw::Acceptance::accepted);  // the retry gets in
}

TEST_CASE("MemoryInbox retries after the delay with the failed handlers only") {
  test::ManualClock clock;
  aw::MemoryInbox inbox(limits(clock));
  inbox.accept(record("a"));
  const auto d = inbox.next(0ms);
  inbox.retry_later(*d, {2}, 30ms);
  CHECK_FALSE(inbox.next(0ms));
  const auto again = inbox.next(2000ms);
  REQUIRE(again);
  CHECK(again->attempt == 2);
  CHECK(again->pending_handlers == std::vector<std::size_t>{2});
}

TEST_CASE("MemoryInbox close wakes waiters and gives back what it would lose") {
  test::ManualClock clock;
  aw::MemoryInbox inbox(limits(clock));
  std::thread waiter([&] { CHECK_FALSE(inbox.next(60000ms)); });
  inbox.close();
  waiter.join();
  inbox.accept(record("a"));
  CHECK(inbox.take_unfinished().size() == 1);
  CHECK(inbox.depth() == 0);
}
