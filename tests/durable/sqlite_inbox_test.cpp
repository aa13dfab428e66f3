// SqliteInbox beyond the Inbox contract (sqlite_contract_test.cpp): what it stores, group
// commit, and a store that refuses rather than pretends.
#include <doctest/doctest.h>

#include <array>

#include "durable_support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("SqliteInbox stores nothing of an event refused for capacity") {
  test::ScratchDir dir;
  test::ManualClock clock;
  aw::SqliteInbox inbox(dir.file("inbox.db"));
  inbox.attach(test::inbox_options(clock, 3));
  for (const char* id : {"a", "b", "c"}) {
    CHECK(inbox.accept(test::record(id)) == aw::Acceptance::accepted);
  }
  CHECK(inbox.accept(test::record("d")) == aw::Acceptance::full);
  CHECK(inbox.accept(test::record("a")) == aw::Acceptance::duplicate);  // known, though full
  CHECK_FALSE(inbox.find("d"));
  inbox.complete(*inbox.next(0ms));
  CHECK(inbox.accept(test::record("d")) == aw::Acceptance::accepted);  // the retry gets in
}

TEST_CASE("SqliteInbox stores a retry's attempt, handlers and due time") {
  test::ScratchDir dir;
  test::ManualClock clock;
  aw::SqliteInbox inbox(dir.file("inbox.db"));
  inbox.attach(test::inbox_options(clock));
  inbox.accept(test::record("a"));
  const auto d = inbox.next(0ms);
  inbox.retry_later(*d, {2}, 30ms);
  CHECK_FALSE(inbox.next(0ms));
  const auto stored = inbox.find("a");
  CHECK(stored->attempt == 2);
  CHECK(stored->pending_handlers == std::vector<std::size_t>{2});
  CHECK(stored->next_attempt_at == test::to_the_millisecond(clock.now() + 30ms));
  const auto again = inbox.next(2000ms);
  REQUIRE(again);
  CHECK(again->attempt == 2);
  CHECK(again->pending_handlers == std::vector<std::size_t>{2});
}

TEST_CASE("concurrent accepts share a commit, and the inbox counts how many per commit") {
  test::ScratchDir dir;
  test::ManualClock clock;
  aw::SqliteInbox::Settings settings;
  settings.group_commit_window = 300ms;  // makes sharing certain, not merely likely
  aw::SqliteInbox inbox(dir.file("inbox.db"), settings);
  inbox.attach(test::inbox_options(clock));

  constexpr int senders = 16;
  std::array<aw::Acceptance, senders> answers{};
  std::atomic<int> arrived{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < senders; ++i) {
    threads.emplace_back([&, i] {
      ++arrived;
      while (arrived < senders) std::this_thread::yield();
      answers[i] = inbox.accept(test::record("e" + std::to_string(i)));
    });
  }
  for (auto& t : threads) t.join();

  for (const auto answer : answers) CHECK(answer == aw::Acceptance::accepted);
  const auto stats = inbox.commit_stats();
  CHECK(stats.events_committed == senders);
  CHECK(stats.event_commits < senders);
  CHECK(stats.events_per_commit() > 1.0);
  CHECK(inbox.count(aw::StoredState::pending) == senders);
}

TEST_CASE("an inbox kept from writing beyond busy_timeout answers unavailable, then recovers") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  aw::SqliteInbox::Settings settings;
  settings.busy_timeout = 50ms;
  aw::SqliteInbox inbox(path, settings);
  inbox.attach(test::inbox_options(clock));

  sqlite3* other = nullptr;  // another process's connection, holding the write lock
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(inbox.accept(test::record("a")) == aw::Acceptance::unavailable);
  CHECK(inbox.last_error().find("locked") != std::string::npos);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);

  CHECK_FALSE(inbox.find("a"));
  CHECK(inbox.accept(test::record("a")) == aw::Acceptance::accepted);  // the retry is new
}

TEST_CASE("an event the database cannot store is unavailable and leaves no trace") {
  test::ScratchDir dir;
  test::ManualClock clock;
  aw::SqliteInbox::Settings settings;
  settings.max_size_bytes = 96 * 1024;  // "disk full" after a few dozen events
  aw::SqliteInbox inbox(dir.file("inbox.db"), settings);
  inbox.attach(test::inbox_options(clock));
  const nlohmann::json bulky = {{"text", std::string(4000, 'x')}};

  int accepted = 0;
  aw::Acceptance answer = aw::Acceptance::accepted;
  while (answer == aw::Acceptance::accepted && accepted < 1000) {
    answer = inbox.accept(test::record("e" + std::to_string(accepted), "ticket.created", bulky));
    if (answer == aw::Acceptance::accepted) ++accepted;
  }
  CHECK(accepted > 0);
  CHECK(answer == aw::Acceptance::unavailable);
  CHECK(inbox.last_error().find("full") != std::string::npos);
  const std::string refused = "e" + std::to_string(accepted);
  CHECK_FALSE(inbox.find(refused));
  CHECK(inbox.depth() == static_cast<std::size_t>(accepted));

  // Completed events drop their bodies; the sender's retry then gets in.
  while (auto delivery = inbox.next(0ms)) inbox.complete(*delivery);
  CHECK(inbox.accept(test::record(refused, "ticket.created", bulky)) ==
        aw::Acceptance::accepted);
}

TEST_CASE("headers are stored as nlohmann/json writes them, escapes and invalid UTF-8 included") {
  const std::vector<aw::HeaderList> cases = {
      {},
      {{"host", "127.0.0.1:8080"}, {"x-allthings-signature", std::string(64, 'a')}},
      {{"x-quote", "say \"hi\" \\ bye"}, {"x-control", std::string("tab\there\nnl\x01", 13)}},
      {{"x-utf8", "Zürich \xe2\x82\xac"}, {"x-invalid", "bad \xff\xfe end"}, {"", ""}},
      {{"x-del", "\x7f"}, {"x-backslash", "C:\\path"}, {"x-quote-only", "a\"b"}},
  };
  for (const auto& headers : cases) {
    const std::string expected = nlohmann::json(headers).dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    CHECK(aw::detail::headers_to_json(headers) == expected);
  }
}
