// Dead letters stay on disk, can be listed, and come back when requeued: in this process, by
// another process while the receiver runs, or before the receiver starts.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>

#include "durable_support.hpp"

namespace aw = allthings::webhooks;

namespace {
// Takes the next delivery and gives up on it as if its last attempt had failed.
void give_up_next(aw::SqliteInbox& inbox, int attempt, std::vector<std::size_t> handlers = {}) {
  auto delivery = inbox.next(0ms);
  REQUIRE(delivery);
  delivery->attempt = attempt;
  delivery->pending_handlers = std::move(handlers);
  inbox.dead_letter(*delivery, "handlers still failing after " + std::to_string(attempt) +
                                   " attempts");
}
}  // namespace

TEST_CASE("a dead letter is listed with its attempts and reason, and survives a restart") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  {
    aw::SqliteInbox inbox(path);
    inbox.attach(test::inbox_options(clock));
    inbox.accept(test::record("a"));
    inbox.accept(test::record("b", "booking.created"));
    give_up_next(inbox, 5);
    CHECK(inbox.depth() == 1);  // a dead letter is finished business for the queue
  }
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  const auto letters = inbox.dead_letters();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].id == "a");
  CHECK(letters[0].name == "ticket.created");
  CHECK(letters[0].attempts == 5);
  CHECK(letters[0].reason == "handlers still failing after 5 attempts");
  CHECK(letters[0].dead_lettered_at == test::to_the_millisecond(clock.now()));
  CHECK(inbox.next(0ms)->record->id == "b");  // the dead letter is not run again
  CHECK_FALSE(inbox.next(0ms));
  CHECK(inbox.accept(test::record("a")) == aw::Acceptance::duplicate);
}

TEST_CASE("requeue brings a dead letter back with a fresh round of attempts for its handlers") {
  test::ScratchDir dir;
  test::ManualClock clock;
  aw::SqliteInbox inbox(dir.file("inbox.db"));
  inbox.attach(test::inbox_options(clock));
  inbox.accept(test::record("a"));
  give_up_next(inbox, 5, {1});

  CHECK(inbox.requeue("a"));
  CHECK_FALSE(inbox.requeue("a"));        // no longer a dead letter
  CHECK_FALSE(inbox.requeue("unknown"));
  CHECK(inbox.dead_letters().empty());
  const auto again = inbox.next(5000ms);
  REQUIRE(again);
  CHECK(again->record->id == "a");
  CHECK(again->record->raw_body == test::record("a")->raw_body);
  CHECK(again->attempt == 1);
  CHECK(again->pending_handlers == std::vector<std::size_t>{1});  // the others succeeded
  CHECK(inbox.depth() == 1);
}

TEST_CASE("a running receiver picks up dead letters that another process requeued") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  aw::SqliteInbox::Settings settings;
  settings.maintenance_interval = 10ms;
  aw::SqliteInbox receiver(path, settings);
  receiver.attach(test::inbox_options(clock));
  receiver.accept(test::record("x"));
  receiver.accept(test::record("y"));
  give_up_next(receiver, 5);
  give_up_next(receiver, 5);

  aw::SqliteInboxFile tool(path);  // what `allthings-webhooks inbox` uses, in its own process
  // Another process sees outcomes once the receiver commits them (maintenance_interval).
  REQUIRE(test::eventually([&] { return tool.dead_letters().size() == 2; }));
  CHECK(tool.requeue_all() == 2);

  std::vector<std::string> picked_up;
  for (int i = 0; i < 2; ++i) {
    const auto delivery = receiver.next(5000ms);
    REQUIRE(delivery);
    picked_up.push_back(delivery->record->id);
  }
  CHECK(picked_up == std::vector<std::string>{"x", "y"});
  CHECK(receiver.depth() == 2);
  CHECK(tool.count(aw::StoredState::pending) == 2);
}

TEST_CASE("a dead letter requeued while no receiver runs is dispatched at the next start") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  {
    aw::SqliteInbox inbox(path);
    inbox.attach(test::inbox_options(clock));
    inbox.accept(test::record("a"));
    give_up_next(inbox, 3);
  }
  CHECK(aw::SqliteInboxFile(path).requeue("a"));
  aw::SqliteInbox::Settings settings;
  settings.maintenance_interval = 50ms;  // the pass that takes up the mark comes soon
  aw::SqliteInbox inbox(path, settings);
  inbox.attach(test::inbox_options(clock));
  CHECK(inbox.depth() == 1);
  const auto delivery = inbox.next(0ms);
  REQUIRE(delivery);
  CHECK(delivery->record->id == "a");
  // Taking up the requeue mark afterwards does not queue it a second time.
  test::DatabaseFile file(path);
  REQUIRE(test::eventually(
      [&] { return file.text("SELECT requeued FROM events WHERE id = 'a'") == "0"; }));
  CHECK_FALSE(inbox.next(0ms));
}

TEST_CASE("handlers that fail max_attempts times leave the event as a dead letter in the file") {
  test::ScratchDir dir;
  aw::Options o = test::options();
  o.max_attempts = 2;
  o.retry_base_delay = 1ms;
  o.retry_max_delay = 1ms;
  auto inbox = std::make_shared<aw::SqliteInbox>(dir.file("inbox.db"));
  aw::Receiver receiver(o, inbox);
  std::atomic<int> calls{0};
  receiver.on("ticket.created", [&](const aw::Event&) {
    ++calls;
    throw std::runtime_error("downstream is down");
  });
  receiver.start();
  const auto body = test::body("e1");
  REQUIRE(receiver.handle("POST", aw::testing::sign_headers(o, body, test::secret), body).status ==
          200);
  REQUIRE(test::eventually([&] { return inbox->count(aw::StoredState::dead_letter) == 1; }));
  const auto letters = inbox->dead_letters();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].id == "e1");
  CHECK(letters[0].attempts == 2);
  CHECK(calls == 2);
  receiver.stop();
}
