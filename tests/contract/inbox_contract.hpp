#pragma once

// The contract every Inbox keeps, as one doctest template: a backend gets all of it with one
// line in its test program,
//   TEST_CASE_TEMPLATE_INVOKE(inbox_contract, MyBackend);
// where MyBackend has
//   static constexpr bool durable;                               // keeps events across opens
//   std::shared_ptr<aw::Inbox> open(const aw::Options& options); // a new, attached inbox on the
//                                                                // backend's one store
// and each instance starts with an empty store. open() is called again only after every inbox
// it returned before is gone. A backend that needs a service may also have
//   static bool available();  // false: the suite is skipped (the backend says why)
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "../support.hpp"

namespace test::contract {

namespace aw = allthings::webhooks;

inline std::shared_ptr<const aw::EventRecord> record(const std::string& id) {
  return aw::testing::make_event(id, "ticket.created", {{"id", "T-1"}}).record();
}

template <class Backend, class = void>
struct has_available : std::false_type {};
template <class Backend>
struct has_available<Backend, std::void_t<decltype(Backend::available())>> : std::true_type {};

template <class Backend>
bool available() {
  if constexpr (has_available<Backend>::value) {
    return Backend::available();
  } else {
    return true;
  }
}

inline aw::Options options(ManualClock& clock, std::size_t capacity = 3) {
  aw::Options o = test::options();
  o.queue_capacity = capacity;
  o.dedupe_window = std::chrono::hours(1);
  o.clock = clock.clock();
  return o;
}

}  // namespace test::contract

TEST_CASE_TEMPLATE_DEFINE("an inbox keeps the Inbox contract", Backend, inbox_contract) {
  namespace aw = allthings::webhooks;
  using test::contract::record;
  if (!test::contract::available<Backend>()) return;
  test::ManualClock clock;
  Backend backend;
  auto inbox = backend.open(test::contract::options(clock));

  SUBCASE("it hands events out in arrival order and counts them until finished") {
    CHECK(inbox->accept(record("a")) == aw::Acceptance::accepted);
    CHECK(inbox->accept(record("b")) == aw::Acceptance::accepted);
    CHECK(inbox->accept(record("a")) == aw::Acceptance::duplicate);
    CHECK(inbox->depth() == 2);
    const auto first = inbox->next(0ms);
    REQUIRE(first);
    CHECK(first->record->id == "a");
    CHECK(first->attempt == 1);
    CHECK(first->pending_handlers.empty());
    CHECK(first->record->data() == nlohmann::json{{"id", "T-1"}});
    CHECK(inbox->depth() == 2);  // handed out is not finished
    inbox->complete(*first);
    CHECK(inbox->depth() == 1);
    CHECK(inbox->next(0ms)->record->id == "b");
    CHECK_FALSE(inbox->next(0ms));
    CHECK(inbox->accept(record("a")) == aw::Acceptance::duplicate);  // finished is still known
  }

  SUBCASE("when full it refuses, and remembers nothing of the refused event") {
    for (const char* id : {"a", "b", "c"}) {
      CHECK(inbox->accept(record(id)) == aw::Acceptance::accepted);
    }
    CHECK(inbox->accept(record("d")) == aw::Acceptance::full);
    CHECK(inbox->accept(record("a")) == aw::Acceptance::duplicate);  // known, though full
    inbox->complete(*inbox->next(0ms));
    CHECK(inbox->accept(record("d")) == aw::Acceptance::accepted);  // the retry gets in
  }

  SUBCASE("a retry comes back after its delay, with the next attempt and the failed handlers") {
    inbox->accept(record("a"));
    const auto first = inbox->next(0ms);
    REQUIRE(first);
    const auto retried_at = std::chrono::steady_clock::now();
    inbox->retry_later(*first, {2}, 600ms);
    CHECK(inbox->depth() == 1);
    CHECK_FALSE(inbox->next(0ms));
    const auto again = inbox->next(3000ms);
    REQUIRE(again);
    // Not before its delay: a claim that ignored the due time would bring it at the next poll.
    CHECK(std::chrono::steady_clock::now() - retried_at >= 600ms);
    CHECK(again->record->id == "a");
    CHECK(again->attempt == 2);
    CHECK(again->pending_handlers == std::vector<std::size_t>{2});
  }

  SUBCASE("a dead letter is finished and stays known") {
    inbox->accept(record("a"));
    inbox->dead_letter(*inbox->next(0ms), "handlers still failing");
    CHECK(inbox->depth() == 0);
    CHECK_FALSE(inbox->next(0ms));
    CHECK(inbox->accept(record("a")) == aw::Acceptance::duplicate);
  }

  SUBCASE("an id finished longer ago than dedupe_window is accepted again") {
    inbox->accept(record("a"));
    inbox->complete(*inbox->next(0ms));
    clock.advance(std::chrono::hours(1) + std::chrono::seconds(1));
    CHECK(inbox->accept(record("a")) == aw::Acceptance::accepted);
  }

  SUBCASE("close wakes waiters; what is unfinished is given back, or kept if durable") {
    std::thread waiter([&] { CHECK_FALSE(inbox->next(60000ms)); });
    inbox->close();
    waiter.join();
    CHECK_FALSE(inbox->next(0ms));
    inbox->accept(record("a"));
    const auto unfinished = inbox->take_unfinished();
    if (Backend::durable) {
      CHECK(unfinished.empty());
      inbox.reset();
      inbox = backend.open(test::contract::options(clock));
      const auto again = inbox->next(0ms);
      REQUIRE(again);
      CHECK(again->record->id == "a");
    } else {
      REQUIRE(unfinished.size() == 1);
      CHECK(unfinished[0]->id == "a");
      CHECK(inbox->depth() == 0);
    }
  }

  SUBCASE("an accept after the unfinished events were given back is refused, or kept if durable") {
    inbox->close();
    CHECK(inbox->take_unfinished().empty());
    const auto late = inbox->accept(record("late"));
    if (Backend::durable) {
      CHECK(late == aw::Acceptance::accepted);
      inbox.reset();
      inbox = backend.open(test::contract::options(clock));
      const auto again = inbox->next(0ms);
      REQUIRE(again);
      CHECK(again->record->id == "late");
    } else {
      CHECK(late == aw::Acceptance::unavailable);
      CHECK(inbox->depth() == 0);
    }
  }

  SUBCASE("it belongs to one receiver: a second attach is refused") {
    CHECK_THROWS_AS(inbox->attach(test::contract::options(clock)), std::logic_error);
  }
}
