// A file the inbox cannot trust fails construction with a message naming the path and the
// problem, and is left exactly as it was: never replaced, never "repaired".
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "durable_support.hpp"

namespace aw = allthings::webhooks;

namespace {
// What constructing an inbox on `path` throws; empty when it does not throw.
std::string construction_error(const std::string& path) {
  test::ManualClock clock;
  return test::error_of([&] {
    aw::SqliteInbox inbox(path);
    inbox.attach(test::inbox_options(clock));
  });
}

// An inbox file with enough events to span many pages.
void make_inbox(const std::string& path) {
  test::ManualClock clock;
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock, 1000));
  for (int i = 0; i < 200; ++i) {
    inbox.accept(test::record("e" + std::to_string(i), "ticket.created",
                              {{"text", std::string(500, 'x')}}));
  }
}
}  // namespace

TEST_CASE("a file that is not a SQLite database is refused and left as it was") {
  test::ScratchDir dir;
  const auto path = dir.file("notes.txt");
  std::string notes;
  for (int i = 0; i < 40; ++i) notes += "these are somebody's notes, not a database\n";
  test::write_file(path, notes);
  const auto error = construction_error(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("is not a SQLite database") != std::string::npos);
  CHECK(test::file_bytes(path) == notes);
}

TEST_CASE("another application's SQLite database is refused, naming its tables") {
  test::ScratchDir dir;
  const auto path = dir.file("crm.db");
  test::run_sql(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
                "INSERT INTO customers (name) VALUES ('Ada');");
  const auto before = test::file_bytes(path);
  const auto error = construction_error(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("is not an allthings-webhooks inbox") != std::string::npos);
  CHECK(error.find("customers") != std::string::npos);
  CHECK(test::file_bytes(path) == before);
}

TEST_CASE("a corrupt inbox is refused rather than replaced") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  make_inbox(path);
  auto bytes = test::file_bytes(path);
  REQUIRE(bytes.size() > 8 * 4096);
  for (std::size_t i = 2 * 4096; i < 6 * 4096; ++i) bytes[i] = static_cast<char>(0xA5);
  test::write_file(path, bytes);
  const auto error = construction_error(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("is corrupt") != std::string::npos);
  CHECK(test::file_bytes(path) == bytes);
}

TEST_CASE("an inbox written by a newer schema version is refused") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  make_inbox(path);
  test::run_sql(path, "PRAGMA user_version = 3");
  const auto error = construction_error(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("schema version 3, newer") != std::string::npos);
}

TEST_CASE("a path that cannot be opened as a file is refused") {
  test::ScratchDir dir;
  SUBCASE("a directory") {
    const auto path = dir.file("inbox.db");
    std::filesystem::create_directory(path);
    const auto error = construction_error(path);
    CHECK(error.find(path) != std::string::npos);
    CHECK(error.find("is a directory") != std::string::npos);
  }
  SUBCASE("below a file instead of a directory") {
    test::write_file(dir.file("plain"), "x");
    const auto path = dir.file("plain") + "/inbox.db";
    const auto error = construction_error(path);
    CHECK(error.find(path) != std::string::npos);
    CHECK(error.find("cannot be read") != std::string::npos);
  }
}

// Root reads any file, so this can only be checked as an ordinary user.
TEST_CASE("an unreadable inbox file is refused" * doctest::skip(::geteuid() == 0)) {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  make_inbox(path);
  ::chmod(path.c_str(), 0);
  const auto error = construction_error(path);
  ::chmod(path.c_str(), 0600);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("cannot be read") != std::string::npos);
}

TEST_CASE("a write-protected inbox file is refused" * doctest::skip(::geteuid() == 0)) {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  make_inbox(path);
  ::chmod(path.c_str(), 0400);
  const auto error = construction_error(path);
  ::chmod(path.c_str(), 0600);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("is read-only") != std::string::npos);
}

TEST_CASE("the operator's view of an inbox never creates one for a mistyped path") {
  test::ScratchDir dir;
  const auto path = dir.file("typo.db");
  std::string error;
  try {
    aw::SqliteInboxFile file(path);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("does not exist") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("an empty file becomes a new inbox") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  test::write_file(path, "");
  test::ManualClock clock;
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  CHECK(inbox.accept(test::record("a")) == aw::Acceptance::accepted);
}
