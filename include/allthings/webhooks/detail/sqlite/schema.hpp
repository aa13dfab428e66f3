#pragma once

// Opening the durable inbox's database file: refuse anything that is not ours (a foreign or
// corrupt file is reported, never replaced), create the schema in a new or empty file, and set
// up the connection for durable writes (WAL, synchronous=FULL).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include "../../inbox/operations.hpp"
#include "connection.hpp"

namespace allthings::webhooks::detail {

// Written into the file header, so a foreign SQLite database is recognised as such.
inline constexpr std::int64_t inbox_application_id = 0x41745768;  // "AtWh"
// PRAGMA user_version; bump with every schema change and teach open_inbox_database to migrate.
inline constexpr std::int64_t inbox_schema_version = 2;

struct InboxFileSettings {
  std::chrono::milliseconds busy_timeout{1000};
  std::uint64_t max_size_bytes = 0;  // 0: no limit of our own
  bool check_integrity = true;
  bool create_if_missing = true;
};

// One row per accepted event. A pending row is an event to run (again); a completed row only
// remembers the id for the dedupe window, counted from accepted_at (its body is dropped); a
// dead row waits for an operator. `requeued` marks rows brought back from the dead, possibly
// by another process, for the dispatching inbox to pick up.
inline constexpr const char* inbox_schema_sql = R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  raw_body BLOB NOT NULL,
  headers TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  accepted_at_ms INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'completed', 'dead')),
  attempt INTEGER NOT NULL DEFAULT 1,
  next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
  pending_handlers TEXT NOT NULL DEFAULT '[]',
  finished_at_ms INTEGER,
  dead_reason TEXT,
  requeued INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_pending ON events (seq) WHERE state = 'pending';
CREATE INDEX events_completed ON events (accepted_at_ms) WHERE state = 'completed';
CREATE INDEX events_dead ON events (seq) WHERE state = 'dead';
CREATE INDEX events_requeued ON events (seq) WHERE requeued = 1;
)sql";

// The sequence number of the last outcome log record applied to events (see outcome_log.hpp).
// Part of the schema since version 2, which added it to version 1's.
inline constexpr const char* outcome_log_schema_sql = R"sql(
CREATE TABLE outcome_log (applied_seq INTEGER NOT NULL);
INSERT INTO outcome_log (applied_seq) VALUES (0);
)sql";

// The error every SqliteInbox file problem is reported with.
inline InboxStoreError inbox_file_error(const std::string& path, const std::string& problem) {
  return InboxStoreError("SqliteInbox: " + path + " " + problem);
}

namespace inbox_file {

// What a failed read of the file says about it.
inline std::string describe_read_failure(const sqlite::Error& error) {
  switch (error.primary_code()) {
    case SQLITE_NOTADB: return "is not a SQLite database (" + std::string(error.what()) + ")";
    case SQLITE_CORRUPT: return "is corrupt (" + std::string(error.what()) + ")";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "is locked by another connection (" + std::string(error.what()) + ")";
    default: return "cannot be read (" + std::string(error.what()) + ")";
  }
}

inline std::string hex32(std::int64_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08llx",
                static_cast<unsigned long long>(value) & 0xffffffffULL);
  return text;
}

// The file's tables, "a, b", or "no tables".
inline std::string table_names(sqlite::Connection& db) {
  const auto names = db.query_text(
      "SELECT group_concat(name, ', ') FROM sqlite_master WHERE type = 'table'");
  return names.empty() ? "no tables" : "tables " + names;
}

inline void create_schema(sqlite::Connection& db) {
  db.exec("PRAGMA journal_mode = WAL");
  sqlite::WriteTransaction transaction(db);
  // Another process may have created it since we looked.
  if (db.query_integer("SELECT count(*) FROM sqlite_master") == 0) {
    db.exec(("PRAGMA application_id = " + std::to_string(inbox_application_id)).c_str());
    db.exec(("PRAGMA user_version = " + std::to_string(inbox_schema_version)).c_str());
    db.exec(inbox_schema_sql);
    db.exec(outcome_log_schema_sql);
  }
  transaction.commit();
}

// Throws unless the file is an inbox of the schema this build reads or can migrate.
inline void check_is_our_inbox(sqlite::Connection& db, const std::string& path) {
  const auto application_id = db.query_integer("PRAGMA application_id");
  const auto version = db.query_integer("PRAGMA user_version");
  if (application_id != inbox_application_id) {
    throw inbox_file_error(path, "is not an allthings-webhooks inbox: a SQLite database with "
                               "application_id " + hex32(application_id) + " and " +
                                   table_names(db));
  }
  if (version > inbox_schema_version) {
    throw inbox_file_error(path, "holds inbox schema version " + std::to_string(version) +
                                   ", newer than the version " +
                                   std::to_string(inbox_schema_version) + " this build reads");
  }
  if (version < 1 ||
      db.query_integer("SELECT count(*) FROM sqlite_master WHERE name = 'events'") != 1) {
    throw inbox_file_error(path, "is an allthings-webhooks inbox with an unknown schema (version " +
                                   std::to_string(version) + ", " + table_names(db) + ")");
  }
}

// Brings an inbox of an older schema version up to this build's.
inline void migrate(sqlite::Connection& db) {
  sqlite::WriteTransaction transaction(db);
  // Another process may have migrated it since we looked.
  if (db.query_integer("PRAGMA user_version") == 1) {
    db.exec(outcome_log_schema_sql);
    db.exec("PRAGMA user_version = 2");
  }
  transaction.commit();
}

inline void check_integrity(sqlite::Connection& db, const std::string& path) {
  const auto verdict = db.query_text("PRAGMA quick_check(1)");
  if (verdict != "ok") throw inbox_file_error(path, "is corrupt (quick_check: " + verdict + ")");
}

inline void configure(sqlite::Connection& db, const InboxFileSettings& settings,
                      const std::string& path) {
  const auto mode = db.query_text("PRAGMA journal_mode = WAL");
  if (mode != "wal") {
    throw inbox_file_error(path, "cannot use write-ahead logging (journal_mode stays " + mode + ")");
  }
  // FULL: a commit returns only after the WAL is fsync'd, so an acknowledged event survives
  // power loss too, not only a crash of this process.
  db.exec("PRAGMA synchronous = FULL");
  if (settings.max_size_bytes > 0) {
    const auto page_size = static_cast<std::uint64_t>(db.query_integer("PRAGMA page_size"));
    const auto pages = std::max<std::uint64_t>(1, settings.max_size_bytes / page_size);
    db.exec(("PRAGMA max_page_count = " + std::to_string(pages)).c_str());
  }
}

}  // namespace inbox_file

// Opens the inbox database at `path` for reading and writing, creating it (or initialising an
// empty file) when allowed. Throws InboxStoreError naming the path and the problem when the
// file is missing, unreadable, read-only, not SQLite, corrupt, foreign or of a newer schema.
inline sqlite::Connection open_inbox_database(const std::string& path,
                                              const InboxFileSettings& settings) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (fs::is_directory(status)) throw inbox_file_error(path, "is a directory, not a database file");
  if (!fs::exists(status) && !settings.create_if_missing) {
    throw inbox_file_error(path, "does not exist");
  }

  int flags = SQLITE_OPEN_READWRITE | (settings.create_if_missing ? SQLITE_OPEN_CREATE : 0);
  try {
    sqlite::Connection db(path, flags);
    // SQLite opens a write-protected file read-only without complaint; an inbox that cannot
    // write would answer every delivery with 503, so say so now.
    if (db.read_only()) throw inbox_file_error(path, "is read-only, but the inbox must write to it");
    sqlite3_busy_timeout(db.handle(), static_cast<int>(settings.busy_timeout.count()));

    const bool empty = db.query_integer("SELECT count(*) FROM sqlite_master") == 0 &&
                       db.query_integer("PRAGMA application_id") == 0 &&
                       db.query_integer("PRAGMA user_version") == 0;
    if (empty) {
      inbox_file::create_schema(db);
    } else {
      inbox_file::check_is_our_inbox(db, path);
      if (settings.check_integrity) inbox_file::check_integrity(db, path);
      if (db.query_integer("PRAGMA user_version") < inbox_schema_version) inbox_file::migrate(db);
    }
    inbox_file::configure(db, settings, path);
    return db;
  } catch (const sqlite::Error& error) {
    throw inbox_file_error(path, inbox_file::describe_read_failure(error));
  }
}

}  // namespace allthings::webhooks::detail
