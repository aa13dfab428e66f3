#pragma once

// The SqliteInbox's cursors: one small table, created on first use. Creating it lazily instead
// of in a schema version keeps every existing inbox file readable by this build and this
// build's files readable by older builds (they look only at their own tables).
#include <optional>
#include <string>

#include "connection.hpp"

namespace allthings::webhooks::detail {

inline void ensure_cursor_table(sqlite::Connection& db) {
  db.exec("CREATE TABLE IF NOT EXISTS cursors (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
}

inline std::optional<std::string> load_cursor(sqlite::Connection& db, const std::string& key) {
  ensure_cursor_table(db);
  auto statement = db.prepare("SELECT value FROM cursors WHERE key = ?1");
  auto execution = statement.execute();
  execution.bind(1, std::string_view(key));
  if (!execution.step()) return std::nullopt;
  return execution.text(0);
}

inline void save_cursor(sqlite::Connection& db, const std::string& key, const std::string& value) {
  ensure_cursor_table(db);
  auto statement = db.prepare(
      "INSERT INTO cursors (key, value) VALUES (?1, ?2) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  auto execution = statement.execute();
  execution.bind(1, std::string_view(key)).bind(2, std::string_view(value));
  execution.run();
}

}  // namespace allthings::webhooks::detail
