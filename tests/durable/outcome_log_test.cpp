// The outcome log: outcomes a worker reported survive a kill of the process before they reach
// the database, stale and torn records are ignored, and the log keeps a second inbox away.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "durable_support.hpp"

namespace aw = allthings::webhooks;
namespace detail = allthings::webhooks::detail;

namespace {

// An inbox file holding the pending events `ids`, and no inbox open on it.
void leave_pending(const std::string& path, test::ManualClock& clock,
                   std::initializer_list<const char*> ids) {
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  for (const char* id : ids) REQUIRE(inbox.accept(test::record(id)) == aw::Acceptance::accepted);
}

detail::Outcome outcome(detail::Outcome::Kind kind, const std::string& id) {
  detail::Outcome made;
  made.kind = kind;
  made.id = id;
  made.attempt = 1;
  made.at = std::chrono::system_clock::now();
  if (kind == detail::Outcome::Kind::dead_letter) made.reason = "given up";
  return made;
}

// What a killed process leaves behind: outcomes in the log that never reached the database.
void log_outcomes(const std::string& path, std::uint64_t after_seq,
                  std::initializer_list<detail::Outcome> outcomes) {
  detail::OutcomeLog log(path + "-outcomes");
  log.reset(after_seq);
  for (const auto& logged : outcomes) REQUIRE(log.append(logged));
}

std::int64_t applied_seq(const std::string& path) {
  return std::stoll(test::DatabaseFile(path).text("SELECT applied_seq FROM outcome_log"));
}

}  // namespace

TEST_CASE("outcomes logged by a process killed before its commit are applied at the next start") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  leave_pending(path, clock, {"a", "b", "c"});
  log_outcomes(path, static_cast<std::uint64_t>(applied_seq(path)),
               {outcome(detail::Outcome::Kind::complete, "a"),
                outcome(detail::Outcome::Kind::dead_letter, "b")});

  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  CHECK(inbox.find("a")->state == aw::StoredState::completed);
  CHECK(inbox.find("b")->state == aw::StoredState::dead_letter);
  CHECK(inbox.find("b")->dead_letter_reason == "given up");
  const auto next = inbox.next(0ms);
  REQUIRE(next);
  CHECK(next->record->id == "c");  // only the unfinished one runs again
  CHECK_FALSE(inbox.next(0ms));
  CHECK(applied_seq(path) >= 2);
  CHECK(std::filesystem::file_size(path + "-outcomes0") == 0);  // emptied once applied
  CHECK(std::filesystem::file_size(path + "-outcomes1") == 0);
}

TEST_CASE("records the database already holds are skipped, so a later change stays") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  {
    aw::SqliteInbox inbox(path);
    inbox.attach(test::inbox_options(clock));
    inbox.accept(test::record("a"));
    inbox.accept(test::record("b"));
    inbox.complete(*inbox.next(0ms));  // a: the first outcome of this file
  }
  REQUIRE(applied_seq(path) == 1);
  // A log still holding record 1 (it is emptied only once it has grown, and its emptying need
  // not reach the disk); here it says b is a dead letter, which the database, having applied
  // record 1, never agreed to.
  log_outcomes(path, 0, {outcome(detail::Outcome::Kind::dead_letter, "b")});

  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  CHECK(inbox.find("b")->state == aw::StoredState::pending);
  const auto next = inbox.next(0ms);
  REQUIRE(next);
  CHECK(next->record->id == "b");
}

TEST_CASE("a record torn by a crash mid-write ends the log, the records before it count") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  leave_pending(path, clock, {"a", "b"});
  log_outcomes(path, static_cast<std::uint64_t>(applied_seq(path)),
               {outcome(detail::Outcome::Kind::complete, "a")});
  {
    std::ofstream torn(path + "-outcomes0", std::ios::binary | std::ios::app);
    torn.write("\x40\x00\x00\x00\x12\x34\x56\x78{\"seq\":", 15);  // promises 64 bytes
  }

  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  CHECK(inbox.find("a")->state == aw::StoredState::completed);
  CHECK(inbox.find("b")->state == aw::StoredState::pending);
  CHECK(std::filesystem::file_size(path + "-outcomes0") == 0);
}

TEST_CASE("a second SqliteInbox on the same file is refused while the first is open") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  auto first = std::make_unique<aw::SqliteInbox>(path);
  const auto error = test::error_of([&] { aw::SqliteInbox{path}; });
  CHECK(error.find(path + "-outcomes0") != std::string::npos);
  CHECK(error.find("another SqliteInbox has this database open") != std::string::npos);
  aw::SqliteInboxFile operator_view(path);  // inspecting it stays allowed
  first.reset();
  CHECK_NOTHROW(aw::SqliteInbox{path});
}

TEST_CASE("when the log cannot take an outcome, it is committed before the worker goes on") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  // Every write to /dev/full fails with ENOSPC.
  std::filesystem::create_symlink("/dev/full", path + "-outcomes0");
  std::filesystem::create_symlink("/dev/full", path + "-outcomes1");
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  inbox.accept(test::record("a"));
  inbox.complete(*inbox.next(0ms));
  // Read through a connection of its own, so nothing commits on the reader's behalf.
  CHECK(test::DatabaseFile(path).text("SELECT state FROM events WHERE id = 'a'") == "completed");
}

TEST_CASE("an inbox file of schema version 1 is brought up to version 2 when opened") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  leave_pending(path, clock, {"a"});
  test::run_sql(path, "DROP TABLE outcome_log; PRAGMA user_version = 1");

  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  CHECK(test::DatabaseFile(path).text("PRAGMA user_version") == "2");
  CHECK(applied_seq(path) == 0);
  inbox.complete(*inbox.next(0ms));
  CHECK(inbox.find("a")->state == aw::StoredState::completed);
}

TEST_CASE("the log takes turns between its files and empties one once the database has it all") {
  test::ScratchDir dir;
  const auto base = dir.file("inbox.db-outcomes");
  detail::OutcomeLog log(base);
  log.reset(0);
  // Fill the first file past the size worth emptying.
  std::size_t appended = 0;
  while (std::filesystem::file_size(base + "0") < 64 * 1024) {
    REQUIRE(log.append(outcome(detail::Outcome::Kind::complete, "e" + std::to_string(appended))));
    ++appended;
  }
  const auto taken = log.take();
  REQUIRE(taken.size() == appended);
  CHECK(taken.back().seq == appended);
  REQUIRE(log.append(outcome(detail::Outcome::Kind::complete, "later")));  // to the other file
  CHECK(std::filesystem::file_size(base + "1") > 0);

  log.applied(taken.back().seq);
  CHECK(std::filesystem::file_size(base + "0") == 0);  // all of it is in the database
  CHECK(std::filesystem::file_size(base + "1") > 0);   // "later" is not yet
  const auto left = log.read_all();
  REQUIRE(left.size() == 1);
  CHECK(left[0].outcome.id == "later");
  CHECK(left[0].seq == appended + 1);
}

TEST_CASE("a record that fails its checksum ends the reading of its file") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  leave_pending(path, clock, {"a", "b", "c"});
  log_outcomes(path, static_cast<std::uint64_t>(applied_seq(path)),
               {outcome(detail::Outcome::Kind::complete, "a"),
                outcome(detail::Outcome::Kind::complete, "b"),
                outcome(detail::Outcome::Kind::complete, "c")});
  {
    // Flip one byte inside the second record's payload ("b" becomes "B").
    std::fstream log(path + "-outcomes0", std::ios::binary | std::ios::in | std::ios::out);
    std::string bytes((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    const auto second = bytes.find("\"id\":\"b\"");
    REQUIRE(second != std::string::npos);
    log.seekp(static_cast<std::streamoff>(second + 6));
    log.put('B');
  }

  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  CHECK(inbox.find("a")->state == aw::StoredState::completed);
  CHECK(inbox.find("b")->state == aw::StoredState::pending);  // neither it
  CHECK(inbox.find("c")->state == aw::StoredState::pending);  // nor what followed it counts
}

TEST_CASE("an outcome too large for the log is committed instead, and the log goes on") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  inbox.accept(test::record("a"));
  inbox.accept(test::record("b"));
  inbox.dead_letter(*inbox.next(0ms), std::string(2 << 20, 'r'));  // a 2 MB reason
  // Committed before dead_letter() returned: read through a connection of its own.
  CHECK(test::DatabaseFile(path).state_of("a") == "dead");
  CHECK(std::filesystem::file_size(path + "-outcomes0") == 0);
  inbox.complete(*inbox.next(0ms));
  CHECK(std::filesystem::file_size(path + "-outcomes0") > 0);  // the next one is logged
  CHECK(inbox.find("b")->state == aw::StoredState::completed);
}

TEST_CASE("an outcome_log table emptied by hand gets its row back at the next commit") {
  test::ScratchDir dir;
  test::ManualClock clock;
  const auto path = dir.file("inbox.db");
  leave_pending(path, clock, {"a"});
  test::run_sql(path, "DELETE FROM outcome_log");

  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  inbox.complete(*inbox.next(0ms));
  CHECK(inbox.find("a")->state == aw::StoredState::completed);
  CHECK(test::DatabaseFile(path).text("SELECT count(*) FROM outcome_log") == "1");
  CHECK(applied_seq(path) >= 1);
}

TEST_CASE("every field of a logged outcome reads back as it was, escapes included") {
  test::ScratchDir dir;
  const std::string base = dir.file("inbox.db") + "-outcomes";
  std::vector<detail::Outcome> written;
  {
    detail::OutcomeLog log(base);
    log.reset(41);
    auto retry = outcome(detail::Outcome::Kind::retry, "id with \"quotes\" and \\ and Zürich");
    retry.attempt = 3;
    retry.handlers = {0, 7, static_cast<std::size_t>(-1)};  // -1 stands for on_unhandled
    retry.at = std::chrono::system_clock::time_point(std::chrono::milliseconds(-1234));
    auto dead = outcome(detail::Outcome::Kind::dead_letter, "plain-id");
    dead.reason = "line one\nline \"two\"\t\x01";
    auto done = outcome(detail::Outcome::Kind::complete, "");
    written = {retry, dead, done};
    for (const auto& logged : written) REQUIRE(log.append(logged));
    auto not_utf8 = outcome(detail::Outcome::Kind::complete, "bad \xff id");
    CHECK_FALSE(log.append(not_utf8));  // the caller commits it instead
  }
  detail::OutcomeLog log(base);
  const auto records = log.read_all();
  REQUIRE(records.size() == written.size());
  for (std::size_t i = 0; i < written.size(); ++i) {
    CHECK(records[i].seq == 42 + i);
    CHECK(records[i].outcome.kind == written[i].kind);
    CHECK(records[i].outcome.id == written[i].id);
    CHECK(records[i].outcome.attempt == written[i].attempt);
    CHECK(records[i].outcome.handlers == written[i].handlers);
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(records[i].outcome.at -
                                                                written[i].at)
              .count() == 0);
    CHECK(records[i].outcome.reason == written[i].reason);
  }
}
