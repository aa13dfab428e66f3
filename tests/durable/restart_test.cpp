// What survives a restart: the id memory, every unfinished event, and the back-off of a
// failing one. A "restart" is a second SqliteInbox on the same file after the first is gone.
#include <doctest/doctest.h>

#include "durable_support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("a duplicate of an event accepted before a restart is recognised after it") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  {
    aw::SqliteInbox inbox(path);
    inbox.attach(test::inbox_options(clock));
    inbox.accept(test::record("done"));
    inbox.accept(test::record("waiting"));
    inbox.complete(*inbox.next(0ms));
  }
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  CHECK(inbox.accept(test::record("done")) == aw::Acceptance::duplicate);
  CHECK(inbox.accept(test::record("waiting")) == aw::Acceptance::duplicate);
  CHECK(inbox.accept(test::record("new")) == aw::Acceptance::accepted);
}

TEST_CASE("a restart queues every unfinished event again in arrival order, the running one too") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  {
    aw::SqliteInbox inbox(path);
    inbox.attach(test::inbox_options(clock));
    for (const char* id : {"a", "b", "c", "d"}) inbox.accept(test::record(id));
    inbox.complete(*inbox.next(0ms));  // a: finished
    const auto running = inbox.next(0ms);  // b: handed out when the process "dies"
    CHECK(running->record->id == "b");
  }
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  CHECK(inbox.depth() == 3);
  std::vector<std::string> order;
  while (auto delivery = inbox.next(0ms)) {
    order.push_back(delivery->record->id);
    CHECK(delivery->attempt == 1);
    CHECK(delivery->record->name == "ticket.created");
    CHECK(delivery->record->data() == nlohmann::json{{"id", "T-1"}});
    CHECK(delivery->record->headers == test::record("x")->headers);
  }
  CHECK(order == std::vector<std::string>{"b", "c", "d"});
}

TEST_CASE("the back-off of a failed event survives a restart") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  {
    aw::SqliteInbox inbox(path);
    inbox.attach(test::inbox_options(clock));
    inbox.accept(test::record("a"));
    inbox.retry_later(*inbox.next(0ms), {1}, std::chrono::hours(1));
  }
  {
    aw::SqliteInbox inbox(path);
    inbox.attach(test::inbox_options(clock));
    CHECK(inbox.depth() == 1);
    CHECK_FALSE(inbox.next(0ms));  // not due yet, restart or not
  }
  clock.advance(std::chrono::hours(1));
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  const auto due = inbox.next(0ms);
  REQUIRE(due);
  CHECK(due->record->id == "a");
  CHECK(due->attempt == 2);
  CHECK(due->pending_handlers == std::vector<std::size_t>{1});
}

TEST_CASE("completed events are forgotten after the dedupe window and pruned in the background") {
  test::ScratchDir dir;
  test::ManualClock clock;
  aw::SqliteInbox::Settings settings;
  settings.maintenance_interval = 5ms;
  aw::SqliteInbox inbox(dir.file("inbox.db"), settings);
  inbox.attach(test::inbox_options(clock));
  inbox.accept(test::record("old"));
  inbox.complete(*inbox.next(0ms));
  inbox.accept(test::record("unfinished"));

  clock.advance(std::chrono::hours(23));
  CHECK(inbox.accept(test::record("old")) == aw::Acceptance::duplicate);  // still within it
  CHECK(inbox.find("old"));

  clock.advance(std::chrono::hours(1));
  REQUIRE(test::eventually([&] { return !inbox.find("old"); }));
  CHECK(inbox.find("unfinished"));  // only completed events are pruned
  CHECK(inbox.accept(test::record("old")) == aw::Acceptance::accepted);
}

TEST_CASE("an id past the dedupe window is accepted again even before pruning ran") {
  test::ScratchDir dir;
  test::ManualClock clock;
  aw::SqliteInbox::Settings settings;
  settings.maintenance_interval = std::chrono::hours(1);  // pruning will not run in this test
  aw::SqliteInbox inbox(dir.file("inbox.db"), settings);
  inbox.attach(test::inbox_options(clock));
  inbox.accept(test::record("old"));
  inbox.complete(*inbox.next(0ms));
  clock.advance(std::chrono::hours(24));
  CHECK(inbox.accept(test::record("old")) == aw::Acceptance::accepted);
  CHECK(inbox.find("old")->state == aw::StoredState::pending);
}

TEST_CASE("after a restart a preset's events are read the way the preset reads them") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  aw::Options o = test::options();
  o.scheme = aw::schemes::slack;
  o.secrets = {"slack-signing-secret"};
  const std::string json = R"({"event_id":"Ev1","event":{"type":"app_mention","text":"hi"}})";
  const std::string form = "command=%2Fdeploy&text=now&trigger_id=13.45.ab";
  {
    aw::Receiver receiver(o, std::make_shared<aw::SqliteInbox>(path));
    auto json_headers = aw::testing::sign_headers(o, json, "slack-signing-secret");
    json_headers.emplace_back("Content-Type", "application/json");
    auto form_headers = aw::testing::sign_headers(o, form, "slack-signing-secret");
    form_headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    CHECK(receiver.handle("POST", json_headers, json).status == 200);
    CHECK(receiver.handle("POST", form_headers, form).status == 200);
  }  // never started: both events wait in the file

  aw::SqliteInbox inbox(path);
  inbox.attach(o);
  const auto first = inbox.next(0ms);
  REQUIRE(first);
  CHECK(first->record->id == "Ev1");
  CHECK(first->record->name == "app_mention");
  CHECK(first->record->data() == nlohmann::json{{"type", "app_mention"}, {"text", "hi"}});
  const auto second = inbox.next(0ms);
  REQUIRE(second);
  CHECK(second->record->id == "13.45.ab");
  CHECK(second->record->name == "/deploy");
  CHECK(second->record->raw_body == form);
  CHECK(second->record->data().is_null());
}
