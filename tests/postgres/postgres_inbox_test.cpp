// What PostgresInbox promises on a real server, with one or two replicas in this process: a
// 200 only for a committed event, duplicates recognised by any replica, shared commits with one
// NOTIFY each, serialize_by across replicas, stored retries and dead letters that another
// process lists and requeues, and ids PostgreSQL text cannot hold.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "postgres_support.hpp"

namespace aw = allthings::webhooks;

namespace {

std::shared_ptr<aw::PostgresInbox> inbox_on(const std::string& schema,
                                            const std::string& replica = "test") {
  return std::make_shared<aw::PostgresInbox>(test::pg::server()->conninfo(),
                                             test::pg::settings(schema, replica));
}

aw::Reply deliver(aw::Receiver& receiver, const std::string& body) {
  return receiver.handle("POST", aw::testing::sign_headers(receiver.options(), body, test::secret),
                         body);
}

std::string quoted(const std::string& schema) { return "\"" + schema + "\""; }

}  // namespace

TEST_CASE("postgres: a 200 is sent only once the event is committed in the database") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  test::Server receiving(test::options(), inbox_on(schema));
  test::Latch held;
  receiving.endpoint.on_any([&](const aw::Event&) { held.wait(); });
  receiving.start();
  test::pg::Client look(server->conninfo());

  const auto response = receiving.post_signed(test::body("evt-committed"));
  REQUIRE(test::status_of(response) == 200);
  CHECK(response->body == R"({"status":"accepted"})");
  // Another connection sees it at once: committed, not merely sent.
  CHECK(look.value("SELECT state FROM " + quoted(schema) + ".events WHERE id = 'evt-committed'") ==
        "pending");
  CHECK(look.value("SELECT count(*) FROM " + quoted(schema) +
                   ".seen_ids WHERE id = 'evt-committed'") == "1");
  held.release();
  CHECK(test::eventually([&] {
    return look.value("SELECT completed_by FROM " + quoted(schema) +
                      ".seen_ids WHERE id = 'evt-committed'") == "test";
  }));
}

// synchronous_commit stays on for the accept connections (the lease connection turns it off),
// seen from the server: with it on, every accept's commit flushes the WAL itself, so the
// server counts at least one WAL sync per accept. With it off the WAL writer flushes every
// wal_writer_delay (200 ms) for all of them, and a 200 could precede the flush.
TEST_CASE("postgres: each accepted event's commit waits for its own WAL flush") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  test::pg::Client look(server->conninfo());
  const auto wal_syncs = [&] {
    return std::stoll(look.value("SELECT wal_sync FROM pg_stat_wal"));
  };
  // The inbox says synchronous_commit on itself: a role (or database) default of off, which an
  // administrator may set to speed up other work, must not reach its accepts.
  struct RoleDefaultOff {
    explicit RoleDefaultOff(test::pg::Client& c) : client(c) {
      client.exec("ALTER ROLE CURRENT_USER SET synchronous_commit = off");
    }
    ~RoleDefaultOff() { client.exec("ALTER ROLE CURRENT_USER RESET synchronous_commit"); }
    test::pg::Client& client;
  };
  std::optional<RoleDefaultOff> role_default_off;
  SUBCASE("with the server's default") {}
  SUBCASE("with the role's default set to off") { role_default_off.emplace(look); }
  constexpr long long accepts = 40;
  long long before = 0;
  {
    aw::Receiver receiver(test::options(), inbox_on(schema));  // not started: nothing is claimed
    before = wal_syncs();
    for (long long i = 0; i < accepts; ++i) {
      REQUIRE(deliver(receiver, test::body("evt-sync-" + std::to_string(i))).status == 200);
    }
  }
  // A backend reports its WAL statistics when idle, at the latest when its connection closes.
  // Not all of them: the WAL writer may flush a commit before its backend gets to it. Without
  // synchronous_commit there are only the WAL writer's few flushes.
  CHECK(test::eventually([&] { return wal_syncs() - before >= accepts * 3 / 4; }));
  MESSAGE("WAL syncs during " << accepts << " accepts: " << wal_syncs() - before);
}

// Pruning keeps the id memory within the dedupe window, but an id whose event is still queued or
// dead-lettered must stay known: a redelivery of it is a duplicate, not a second copy.
TEST_CASE("postgres: pruning forgets only finished ids, also when unfinished ones are older") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto settings = test::pg::settings(schema);
  settings.maintenance_interval = std::chrono::milliseconds(100);
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(), settings);
  test::ManualClock clock;
  auto options = test::options();
  options.dedupe_window = std::chrono::hours(1);
  options.clock = clock.clock();
  inbox->attach(options);
  const auto record = [](const std::string& id) {
    return aw::testing::make_event(id, "ticket.created", {{"id", "T-1"}}).record();
  };
  REQUIRE(inbox->accept(record("done")) == aw::Acceptance::accepted);
  REQUIRE(inbox->accept(record("dead")) == aw::Acceptance::accepted);
  REQUIRE(inbox->accept(record("queued")) == aw::Acceptance::accepted);
  inbox->complete(*inbox->next(2000ms));
  inbox->dead_letter(*inbox->next(2000ms), "handlers still failing");

  clock.advance(std::chrono::hours(1) + std::chrono::seconds(1));
  test::pg::Client look(server->conninfo());
  const auto remembered = [&](const std::string& id) {
    return look.value("SELECT count(*) FROM " + quoted(schema) + ".seen_ids WHERE id = '" + id +
                      "'") == "1";
  };
  REQUIRE(test::eventually([&] { return !remembered("done"); }));  // a prune has run
  CHECK(remembered("dead"));
  CHECK(remembered("queued"));
  CHECK(inbox->accept(record("dead")) == aw::Acceptance::duplicate);
  CHECK(inbox->accept(record("queued")) == aw::Acceptance::duplicate);
  CHECK(inbox->accept(record("done")) == aw::Acceptance::accepted);
}

TEST_CASE(
    "postgres: a duplicate that reaches the other replica is answered duplicate and runs once") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  aw::Receiver first(test::options(), inbox_on(schema, "first"));
  aw::Receiver second(test::options(), inbox_on(schema, "second"));
  std::mutex mutex;
  std::map<std::string, int> runs;
  for (auto* replica : {&first, &second}) {
    replica->on_any([&](const aw::Event& e) {
      std::lock_guard<std::mutex> lock(mutex);
      ++runs[e.id()];
    });
    replica->start();
  }

  constexpr int events = 40;
  std::vector<std::string> answers_first(events), answers_second(events);
  // Both replicas get every event at the same moment, as after a sender's retry that raced
  // its first delivery.
  std::thread to_second([&] {
    for (int i = 0; i < events; ++i) {
      answers_second[i] = deliver(second, test::body("evt-" + std::to_string(i))).body;
    }
  });
  for (int i = 0; i < events; ++i) {
    answers_first[i] = deliver(first, test::body("evt-" + std::to_string(i))).body;
  }
  to_second.join();
  const std::set<std::string> one_each{R"({"status":"accepted"})", R"({"status":"duplicate"})"};
  for (int i = 0; i < events; ++i) {
    const std::set<std::string> both{answers_first[i], answers_second[i]};
    CHECK_MESSAGE(both == one_each,
                  "evt-" << i << ": " << answers_first[i] << " and " << answers_second[i]);
  }
  // Later, after it ran, still a duplicate anywhere.
  CHECK(deliver(second, test::body("evt-0")).body == R"({"status":"duplicate"})");
  REQUIRE(test::eventually([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return runs.size() == events;
  }));
  std::this_thread::sleep_for(300ms);  // a second run would come after the first
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& entry : runs) CHECK_MESSAGE(entry.second == 1, entry.first << " ran twice");
}

// Other replicas are hinted at most once per commit and at most once per 10 ms
// (AcceptCommitter::hint_gap): under load a hint per batch cost a transaction per five events.
TEST_CASE("postgres: concurrent accepts share one commit, and NOTIFY other replicas at most once per commit and per 10 ms") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto inbox = inbox_on(schema);
  aw::Receiver receiver(test::options(), inbox);  // not started: nothing is claimed
  test::pg::Client listener(server->conninfo());
  listener.exec("LISTEN allthings_webhooks_" + schema);
  const auto receive_notifications = [&] {
    int received = 0;
    PQconsumeInput(listener.handle());
    while (PGnotify* notify = PQnotifies(listener.handle())) {
      ++received;
      PQfreemem(notify);
    }
    return received;
  };
  const auto wait_for_notifications = [&] {
    int received = 0;
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (received == 0 && std::chrono::steady_clock::now() < give_up) {
      received += receive_notifications();
      std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(200ms);  // any further one would have arrived by now
    return received + receive_notifications();
  };

  constexpr int threads = 16, per_thread = 25;
  std::atomic<int> accepted{0};
  std::vector<std::thread> senders;
  const auto sending_started = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto id = "evt-" + std::to_string(t) + "-" + std::to_string(i);
        if (deliver(receiver, test::body(id)).status == 200) ++accepted;
      }
    });
  }
  for (auto& sender : senders) sender.join();
  const auto sending_took = std::chrono::steady_clock::now() - sending_started;
  CHECK(accepted == threads * per_thread);
  const auto stats = inbox->stats();
  CHECK(stats.events_committed == threads * per_thread);
  MESSAGE("events per commit: " << stats.events_per_commit());
  CHECK(stats.commits < stats.events_committed);  // batches formed

  const int notifications = wait_for_notifications();
  MESSAGE(notifications << " notifications for " << stats.commits << " commits in "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(sending_took).count()
                        << " ms");
  CHECK(notifications >= 1);
  CHECK(notifications <= static_cast<int>(stats.commits));
  CHECK(notifications <= static_cast<int>(sending_took / 10ms) + 1);

  // A commit after a quiet moment hints the others again.
  std::this_thread::sleep_for(20ms);
  CHECK(deliver(receiver, test::body("evt-after-a-pause")).status == 200);
  CHECK(wait_for_notifications() == 1);
}

TEST_CASE("postgres: serialize_by holds across replicas, also when a retry goes to the other one") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto options = test::options();
  options.workers = 3;
  options.serialize_by = [](const aw::Event& e) { return e.data().value("key", ""); };

  std::mutex mutex;
  std::map<std::string, int> running_per_key;
  std::map<std::string, std::vector<int>> order_per_key;
  std::set<int> failed_once;
  int overlaps = 0;
  auto handler = [&](const aw::Event& e) {
    const auto key = e.data().value("key", "");
    const int n = e.data().value("n", -1);
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (running_per_key[key]++ > 0) ++overlaps;
    }
    std::this_thread::sleep_for(3ms);
    std::lock_guard<std::mutex> lock(mutex);
    --running_per_key[key];
    // Every fifth event fails once, so its retry may be claimed by either replica.
    if (n % 5 == 0 && failed_once.insert(n).second) throw std::runtime_error("once");
    order_per_key[key].push_back(n);
  };
  aw::Receiver first(options, inbox_on(schema, "first"));
  aw::Receiver second(options, inbox_on(schema, "second"));
  first.on_any(handler);
  second.on_any(handler);
  first.start();
  second.start();

  constexpr int events = 60;
  for (int n = 0; n < events; ++n) {
    const auto key = "ticket-" + std::to_string(n % 3);
    auto& replica = n % 2 == 0 ? first : second;
    REQUIRE(deliver(replica, test::body("evt-" + std::to_string(n), "ticket.updated",
                                        {{"key", key}, {"n", n}}))
                .status == 200);
  }
  REQUIRE(test::eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mutex);
        std::size_t done = 0;
        for (const auto& entry : order_per_key) done += entry.second.size();
        return done == events;
      },
      20s));
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(overlaps == 0);
  for (const auto& entry : order_per_key) {
    // No structured binding: clang 14 cannot capture one in CHECK_MESSAGE.
    CHECK_MESSAGE(std::is_sorted(entry.second.begin(), entry.second.end()),
                  entry.first << " ran out of order");
  }
}

TEST_CASE(
    "postgres: retries and dead letters are stored, and another process lists and requeues them") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto options = test::options();
  options.max_attempts = 2;
  auto inbox = inbox_on(schema);
  aw::Receiver receiver(options, inbox);
  std::atomic<bool> healthy{false};
  std::atomic<int> attempts{0};
  receiver.on("ticket.created", [&](const aw::Event&) {
    ++attempts;
    if (!healthy) throw std::runtime_error("downstream is down");
  });
  receiver.start();
  REQUIRE(deliver(receiver, test::body("evt-dead")).status == 200);

  // Another process's view of the same database.
  aw::PostgresInboxDatabase operator_view(server->conninfo(), test::pg::settings(schema));
  REQUIRE(test::eventually([&] { return operator_view.count(aw::StoredState::dead_letter) == 1; }));
  CHECK(attempts == 2);
  const auto letters = operator_view.dead_letters();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].id == "evt-dead");
  CHECK(letters[0].name == "ticket.created");
  CHECK(letters[0].attempts == 2);
  CHECK(letters[0].reason == "handlers still failing after 2 attempts");
  const auto dead = operator_view.find("evt-dead");
  REQUIRE(dead);
  CHECK(dead->state == aw::StoredState::dead_letter);
  CHECK(dead->raw_body == test::body("evt-dead"));
  CHECK(dead->pending_handlers == std::vector<std::size_t>{0});
  CHECK(dead->finished_at);
  CHECK(operator_view.count(aw::StoredState::pending) == 0);
  CHECK_FALSE(operator_view.requeue("evt-unknown"));
  // Still remembered: a redelivery is a duplicate, not a new run.
  CHECK(deliver(receiver, test::body("evt-dead")).body == R"({"status":"duplicate"})");

  healthy = true;
  CHECK(operator_view.requeue("evt-dead"));
  REQUIRE(test::eventually([&] {
    const auto stored = operator_view.find("evt-dead");
    return stored && stored->state == aw::StoredState::completed;
  }));
  CHECK(attempts == 3);
  CHECK(operator_view.count(aw::StoredState::dead_letter) == 0);
  CHECK(operator_view.count(aw::StoredState::completed) == 1);
  const auto completed = operator_view.find("evt-dead");
  CHECK(completed->raw_body.empty());  // the queue row is gone; the id is remembered
  CHECK(completed->finished_at);
}

TEST_CASE("postgres: a retry is stored with its attempt, handlers and due time") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto options = test::options();
  options.retry_base_delay = std::chrono::minutes(10);
  options.retry_max_delay = std::chrono::minutes(10);
  auto inbox = inbox_on(schema);
  aw::Receiver receiver(options, inbox);
  std::atomic<int> runs{0};
  receiver.on("ticket.created", [](const aw::Event&) {});
  receiver.on("ticket.created", [&](const aw::Event&) {
    ++runs;
    throw std::runtime_error("second handler fails");
  });
  receiver.start();
  const auto before = std::chrono::system_clock::now();
  REQUIRE(deliver(receiver, test::body("evt-retry")).status == 200);
  REQUIRE(test::eventually([&] {
    const auto stored = inbox->find("evt-retry");
    return stored && stored->attempt == 2;
  }));
  const auto stored = inbox->find("evt-retry");
  CHECK(stored->state == aw::StoredState::pending);
  CHECK(stored->pending_handlers == std::vector<std::size_t>{1});  // only the one that failed
  REQUIRE(stored->next_attempt_at);
  CHECK(*stored->next_attempt_at > before + std::chrono::minutes(9));
  CHECK(runs == 1);
  CHECK(inbox->depth() == 1);
}

TEST_CASE(
    "postgres: ids and names PostgreSQL text cannot hold are stored, and do not fail their batch") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto inbox = inbox_on(schema);
  test::ManualClock clock;
  auto options = test::options();
  options.clock = clock.clock();
  inbox->attach(options);
  auto odd = std::make_shared<aw::EventRecord>();
  odd->id = std::string("evt-\0-nul", 9);
  odd->name = "ticket.\xff";
  odd->raw_body = std::string("{\"event\":{}}\0\xfe", 14);
  odd->headers = {{"x-bytes", "\xc3\x28"}};
  auto plain = aw::testing::make_event("evt-plain", "ticket.created").record();

  std::atomic<int> done{0};
  aw::Acceptance odd_answer{}, plain_answer{};
  // At the same moment, so that they can share a batch.
  std::thread a([&] {
    odd_answer = inbox->accept(odd);
    ++done;
  });
  plain_answer = inbox->accept(plain);
  a.join();
  CHECK(odd_answer == aw::Acceptance::accepted);
  CHECK(plain_answer == aw::Acceptance::accepted);
  CHECK(inbox->accept(odd) == aw::Acceptance::duplicate);
  const auto first = inbox->next(0ms);
  REQUIRE(first);
  const auto second = inbox->next(0ms);
  REQUIRE(second);
  const auto& stored_odd = first->record->id == "evt-plain" ? *second->record : *first->record;
  CHECK(stored_odd.raw_body == odd->raw_body);  // the body stays exactly as signed
  CHECK(stored_odd.id.rfind("sha256:", 0) == 0);
  CHECK(stored_odd.name == "ticket.?");
}

// complete() returns before its pass commits. Room it freed must still be room for the next
// accept: a full answer waits for the completions reported before it and asks again. Here the
// completion's DELETE is held up by a lock another session holds for 300 ms.
TEST_CASE("postgres: room a returned complete() freed is room for the next accept, before its pass commits") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto inbox = inbox_on(schema);
  auto options = test::options();
  options.queue_capacity = 3;
  inbox->attach(options);
  const auto event = [](const std::string& id) {
    return aw::testing::make_event(id, "ticket.created").record();
  };
  for (const char* id : {"evt-a", "evt-b", "evt-c"}) {
    REQUIRE(inbox->accept(event(id)) == aw::Acceptance::accepted);
  }
  REQUIRE(inbox->accept(event("evt-d")) == aw::Acceptance::full);
  const auto first = inbox->next(2000ms);
  REQUIRE(first);
  REQUIRE(first->record->id == "evt-a");

  test::pg::Client blocker(server->conninfo());
  blocker.exec("BEGIN");
  blocker.exec("SELECT 1 FROM \"" + schema + "\".events WHERE id = 'evt-a' FOR UPDATE");
  inbox->complete(*first);  // queued: its DELETE now waits for the blocker
  std::thread release([&] {
    std::this_thread::sleep_for(300ms);
    blocker.exec("COMMIT");
  });
  CHECK(inbox->accept(event("evt-d")) == aw::Acceptance::accepted);
  release.join();
}

// complete() does not wait for its pass while at most `unwritten_completions` completions are
// on their way: a killed replica then runs again at most that many finished events, besides
// those it interrupted. With 0 every complete() waits for its commit.
namespace {
void check_unwritten_completions(std::size_t allowed) {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  auto settings = test::pg::settings(schema);
  settings.unwritten_completions = allowed;
  auto inbox = std::make_shared<aw::PostgresInbox>(server->conninfo(), settings);
  auto options = test::options();
  options.workers = 4;  // not the bound: the setting is
  inbox->attach(options);
  std::vector<aw::Delivery> taken;
  for (std::size_t i = 0; i <= allowed; ++i) {
    const auto id = "evt-" + std::to_string(i);
    REQUIRE(inbox->accept(aw::testing::make_event(id, "ticket.created").record()) ==
            aw::Acceptance::accepted);
    auto delivery = inbox->next(2000ms);
    REQUIRE(delivery);
    taken.push_back(std::move(*delivery));
  }

  test::pg::Client blocker(server->conninfo());
  blocker.exec("BEGIN");
  blocker.exec("SELECT 1 FROM \"" + schema + "\".events WHERE id = '" + taken[0].record->id +
               "' FOR UPDATE");
  const auto started = std::chrono::steady_clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(600ms);
    blocker.exec("COMMIT");
  });
  const auto since_start = [&] { return std::chrono::steady_clock::now() - started; };
  // The first pass waits for the blocker; the `allowed` first completions return at once.
  for (std::size_t i = 0; i < allowed; ++i) inbox->complete(taken[i]);
  if (allowed > 0) CHECK(since_start() < 300ms);
  inbox->complete(taken[allowed]);  // one too many: waits for the first pass
  CHECK(since_start() >= 450ms);
  CHECK(since_start() < 2500ms);  // released by that commit, not by the lease (3 s) running out
  release.join();
}
}  // namespace

TEST_CASE("postgres: complete() returns at once for up to unwritten_completions on their way, then waits") {
  SUBCASE("two") { check_unwritten_completions(2); }
  SUBCASE("none: every completion waits for its commit") { check_unwritten_completions(0); }
}
