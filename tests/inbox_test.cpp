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
// A MemoryInbox attached as a receiver would attach it.
std::unique_ptr<aw::MemoryInbox> attached_inbox(test::ManualClock& clock) {
  aw::Options o = test::options();
  o.queue_capacity = 10;
  o.clock = clock.clock();
  auto inbox = std::make_unique<aw::MemoryInbox>();
  inbox->attach(o);
  return inbox;
}
}  // namespace

// MemoryInbox's workers and its queue. The Inbox contract itself is in
// contract/inbox_contract.hpp.
//
// Workers that just ran out of events linger on a timer instead of being woken per event (see
// DeliveryQueue::linger). These check that no event waits for a worker's long time-out.
TEST_CASE("an event pushed while workers linger or sleep is taken at once, never after the time-out") {
  test::ManualClock clock;
  auto attached = attached_inbox(clock);
  aw::MemoryInbox& inbox = *attached;
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
  auto attached = attached_inbox(clock);
  aw::MemoryInbox& inbox = *attached;
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

TEST_CASE("MemoryInbox takes an id again once its window passed, even while it still runs") {
  test::ManualClock clock;
  aw::Options o = test::options();
  o.dedupe_window = std::chrono::hours(1);
  o.clock = clock.clock();
  aw::MemoryInbox inbox;
  inbox.attach(o);
  REQUIRE(inbox.accept(record("a")) == aw::Acceptance::accepted);
  const auto running = inbox.next(0ms);
  REQUIRE(running);
  clock.advance(std::chrono::hours(1) + std::chrono::seconds(1));
  CHECK(inbox.accept(record("a")) == aw::Acceptance::accepted);
  CHECK(inbox.depth() == 2);
  inbox.complete(*running);
  CHECK(inbox.depth() == 1);
  const auto again = inbox.next(0ms);
  REQUIRE(again);
  CHECK(again->record != running->record);
  inbox.complete(*again);
  CHECK(inbox.depth() == 0);
}
