// How a replica learns that events are ready: a NOTIFY from the replica that committed them (a
// hint), or its own polling, which works alone in poll-only mode. And what close() and the end
// of an inbox do with the leases it holds.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "postgres_support.hpp"

namespace aw = allthings::webhooks;

namespace {

aw::Reply deliver(aw::Receiver& receiver, const std::string& id) {
  const auto body = test::body(id);
  return receiver.handle("POST", aw::testing::sign_headers(receiver.options(), body, test::secret),
                         body);
}

}  // namespace

TEST_CASE("postgres: a NOTIFY wakes the other replica long before its next poll") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  aw::Receiver accepting(test::options(), std::make_shared<aw::PostgresInbox>(
                                              server->conninfo(), test::pg::settings(schema, "a")));
  auto settings = test::pg::settings(schema, "b");
  settings.lease = std::chrono::minutes(5);
  settings.heartbeat_interval = std::chrono::minutes(1);
  settings.poll_interval = std::chrono::minutes(5);  // only a NOTIFY can bring it in time
  aw::Receiver working(test::options(),
                       std::make_shared<aw::PostgresInbox>(server->conninfo(), settings));
  test::Recorder recorder;
  working.on_any([&](const aw::Event& e) { recorder.event(e); });
  working.start();
  std::this_thread::sleep_for(500ms);  // its first poll, at start, found nothing

  REQUIRE(deliver(accepting, "evt-hinted").status == 200);
  CHECK(test::eventually([&] { return recorder.event_count() == 1; }, 10s));
}

TEST_CASE("postgres: in poll-only mode no LISTEN connection is opened and polling delivers") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  aw::Receiver accepting(test::options(), std::make_shared<aw::PostgresInbox>(
                                              server->conninfo(), test::pg::settings(schema, "a")));
  auto settings = test::pg::settings(schema, "polling");
  settings.poll_only = true;
  settings.poll_interval = 300ms;
  aw::Receiver working(test::options(),
                       std::make_shared<aw::PostgresInbox>(server->conninfo(), settings));
  test::Recorder recorder;
  working.on_any([&](const aw::Event& e) { recorder.event(e); });
  working.start();
  test::pg::Client look(server->conninfo());
  std::this_thread::sleep_for(500ms);
  CHECK(look.value("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                   "'aw % polling'") != "0");  // it is connected...
  CHECK(look.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                   "'aw listen polling'") == "0");  // ...but does not listen

  REQUIRE(deliver(accepting, "evt-polled").status == 200);
  CHECK(test::eventually([&] { return recorder.event_count() == 1; }, 10s));
}

TEST_CASE("postgres: an inbox that goes away gives its leases back at once") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto settings = test::pg::settings(schema, "leaving");
  settings.lease = std::chrono::minutes(10);  // without the release, nobody else gets it soon
  settings.heartbeat_interval = std::chrono::minutes(1);
  auto options = test::options();
  auto leaving = std::make_shared<aw::PostgresInbox>(server->conninfo(), settings);
  leaving->attach(options);
  REQUIRE(leaving->accept(aw::testing::make_event("evt-held", "ticket.created").record()) ==
          aw::Acceptance::accepted);
  const auto held = leaving->next(0ms);
  REQUIRE(held);
  test::pg::Client look(server->conninfo());
  CHECK(look.value("SELECT leased_by FROM \"" + schema + "\".events WHERE id = 'evt-held'") ==
        "leaving");

  leaving->close();
  CHECK_FALSE(leaving->next(0ms));  // closed: nothing more is handed out
  leaving.reset();                  // the process ends: its leases go back

  auto staying = std::make_shared<aw::PostgresInbox>(server->conninfo(),
                                                     test::pg::settings(schema, "staying"));
  staying->attach(options);
  const auto taken = staying->next(2000ms);
  REQUIRE(taken);
  CHECK(taken->record->id == "evt-held");
  CHECK(taken->attempt == 1);
}

TEST_CASE("postgres: after close() a handler still running finishes and its outcome is written") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(), test::pg::settings(schema));
  inbox->attach(test::options());
  REQUIRE(inbox->accept(aw::testing::make_event("evt-late", "ticket.created").record()) ==
          aw::Acceptance::accepted);
  const auto running = inbox->next(0ms);
  REQUIRE(running);
  inbox->close();
  inbox->complete(*running);
  const auto stored = inbox->find("evt-late");
  REQUIRE(stored);
  CHECK(stored->state == aw::StoredState::completed);
  CHECK(inbox->depth() == 0);
}

// A replica's claims start at the first event its last claim took (below lie dead index
// entries that cost most of a claim under load). An event that becomes
// claimable below that point must still come soon: here one given back by a replica that goes
// away, while a backlog keeps every claim full.
TEST_CASE("postgres: an event given back below where full claims start is taken within a poll interval") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto options = test::options();
  options.workers = 1;
  auto busy_settings = test::pg::settings(schema, "busy");
  busy_settings.claim_batch = 2;
  busy_settings.poll_interval = 1000ms;  // about 50 events of 20 ms
  auto busy = std::make_shared<aw::PostgresInbox>(server->conninfo(), busy_settings);
  busy->attach(options);
  constexpr int backlog = 120;
  const auto id_of = [](int i) {
    return "evt-" + std::string(i < 10 ? "00" : i < 100 ? "0" : "") + std::to_string(i);
  };
  for (int i = 0; i < backlog; ++i) {
    REQUIRE(busy->accept(aw::testing::make_event(id_of(i), "ticket.created").record()) ==
            aw::Acceptance::accepted);
  }
  auto leaving_settings = test::pg::settings(schema, "leaving");
  leaving_settings.lease = std::chrono::minutes(10);  // only its release brings evt-000 back
  leaving_settings.heartbeat_interval = std::chrono::minutes(1);
  auto leaving = std::make_shared<aw::PostgresInbox>(server->conninfo(), leaving_settings);
  leaving->attach(options);
  const auto held = leaving->next(2000ms);
  REQUIRE(held);
  REQUIRE(held->record->id == "evt-000");

  std::vector<std::string> order;  // as busy hands them out
  const auto first = busy->next(2000ms);
  REQUIRE(first);
  order.push_back(first->record->id);
  busy->complete(*first);
  leaving->close();
  leaving.reset();  // its leases go back: evt-000 is claimable again, below busy's claims

  while (const auto delivery = busy->next(2000ms)) {
    order.push_back(delivery->record->id);
    if (delivery->record->id == "evt-000") break;
    std::this_thread::sleep_for(20ms);  // a slow handler: the backlog outlasts a poll interval
    busy->complete(*delivery);
  }
  const auto position = std::find(order.begin(), order.end(), "evt-000") - order.begin();
  MESSAGE("evt-000 was handed out " << position + 1 << "th of " << backlog);
  REQUIRE(position < static_cast<std::ptrdiff_t>(order.size()));
  // A poll interval is about 50 events of 20 ms: far before the backlog ran out.
  CHECK(position < 100);
}

// The next event of a key becomes claimable when the key's event before it finishes, and it may
// lie below where this replica's claims start by then. The replica that finished the event must
// look there at once, not at its next poll.
TEST_CASE("postgres: the next event of a key is claimed as soon as the event before it finished") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto options = test::options();
  options.workers = 2;
  options.serialize_by = [](const aw::Event& e) { return e.data().value("key", ""); };
  auto settings = test::pg::settings(schema, "only");
  settings.poll_interval = std::chrono::minutes(5);  // only a hint can bring it in time
  settings.lease = std::chrono::minutes(5);
  settings.heartbeat_interval = std::chrono::minutes(1);
  settings.claim_batch = 3;
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(), settings);
  inbox->attach(options);
  const auto accept = [&](const std::string& id, const std::string& key) {
    REQUIRE(inbox->accept(aw::testing::make_event(id, "ticket.updated", {{"key", key}}).record()) ==
            aw::Acceptance::accepted);
  };
  accept("evt-a1", "a");
  accept("evt-a2", "a");  // waits for evt-a1
  constexpr int others = 10;
  for (int i = 0; i < others; ++i) accept("evt-b" + std::to_string(i), "b" + std::to_string(i));

  const auto first = inbox->next(2000ms);
  REQUIRE(first);
  REQUIRE(first->record->id == "evt-a1");
  // The others are claimed past evt-a2, which cannot be taken yet.
  for (int i = 0; i < others; ++i) {
    const auto delivery = inbox->next(2000ms);
    REQUIRE(delivery);
    REQUIRE(delivery->record->id != "evt-a2");
    inbox->complete(*delivery);
  }
  inbox->complete(*first);
  const auto second = inbox->next(3000ms);
  REQUIRE(second);
  CHECK(second->record->id == "evt-a2");
}

// Two accept connections commit batches side by side, so a batch may commit after one that
// took higher seqs, below where this replica's claims start by then. Its commit says where it
// begins: every event must be handed out long before a poll interval.
TEST_CASE("postgres: events of batches that commit out of order are claimed without waiting for a poll") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto options = test::options();
  options.workers = 2;
  auto settings = test::pg::settings(schema, "only");
  settings.accept_connections = 2;
  settings.poll_interval = std::chrono::minutes(5);  // only a hint can bring them in time
  settings.lease = std::chrono::minutes(5);
  settings.heartbeat_interval = std::chrono::minutes(1);
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(), settings);
  inbox->attach(options);

  // In waves, each on an empty queue: a batch that commits late then lies below the floor
  // more often than under a backlog, where claims start far behind the newest batches.
  constexpr int waves = 3;
  constexpr int senders = 4;
  constexpr int per_sender = 100;
  std::atomic<int> handed_out{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&] {
      while (!stop) {
        if (const auto delivery = inbox->next(200ms)) {
          inbox->complete(*delivery);
          ++handed_out;
        }
      }
    });
  }
  int sent = 0;
  for (int wave = 0; wave < waves; ++wave) {
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; ++s) {
      threads.emplace_back([&, wave, s] {
        for (int i = 0; i < per_sender; ++i) {
          const auto id = "evt-" + std::to_string(wave) + "-" + std::to_string(s) + "-" +
                          std::to_string(i);
          CHECK(inbox->accept(aw::testing::make_event(id, "ticket.created").record()) ==
                aw::Acceptance::accepted);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    sent += senders * per_sender;
    CHECK_MESSAGE(test::eventually([&] { return handed_out == sent; }, 5s),
                  "wave " << wave << ": " << handed_out.load() << " of " << sent);
    if (handed_out != sent) break;
  }
  stop = true;
  for (auto& worker : workers) worker.join();
  CHECK(handed_out.load() == waves * senders * per_sender);
  const auto stats = inbox->stats();
  MESSAGE("commits: " << stats.commits << " for " << stats.events_committed << " events");
}
