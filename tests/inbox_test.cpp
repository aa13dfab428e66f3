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

// Workers that just ran out of events linger on a timer instead of being woken per event (see
// DeliveryQueue::linger). These check that no event waits for a worker's long time-out.
TEST_CASE("an event pushed while workers linger or sleep is taken at once, never after the time-out") {
  test::ManualClock clock;
  auto l = limits(clock);
  l.queue_capacity = 10;
  aw::MemoryInbox inbox(l);
  std::atomic<int> taken{0};
  std::thread worker([&] {
    while (auto delivery = inbox.next(60000ms)) {
      inbox.complete(*delivery);
      ++taken;
    }
  });
  // Pauses before each push straddle the linger, so both the lingering and the sleeping
  // worker meet pushes that are not followed by a wake-up call.
  for (int i = 0; i < 60; ++i) {
    inbox.accept(record("e" + std::to_string(i)));
    const bool taken_at_once = test::eventually([&] { return taken == i + 1; }, 2000ms);
    CHECK_MESSAGE(taken_at_once, "event " << i << " was not taken");
    if (!taken_at_once) break;
    std::this_thread::sleep_for(std::chrono::microseconds(50 * (i % 40)));
  }
  inbox.close();
  worker.join();
}

TEST_CASE("a burst arriving while a worker lingers wakes the other workers") {
  test::ManualClock clock;
  auto l = limits(clock);
  l.queue_capacity = 10;
  aw::MemoryInbox inbox(l);
  std::mutex gate;  // held: handlers block, like slow ones
  std::atomic<int> taken{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      while (auto delivery = inbox.next(60000ms)) {
        ++taken;
        { std::lock_guard<std::mutex> wait_for_gate(gate); }
        inbox.complete(*delivery);
      }
    });
  }
  inbox.accept(record("warm-up"));  // one worker runs it and then lingers
  REQUIRE(test::eventually([&] { return taken == 1; }));
  gate.lock();
  for (const char* id : {"a", "b", "c"}) inbox.accept(record(id));
  // Each taker blocks at the gate, so only three different workers can take all three.
  CHECK(test::eventually([&] { return taken == 4; }, 2000ms));
  gate.unlock();
  inbox.close();
  for (auto& worker : workers) worker.join();
}
