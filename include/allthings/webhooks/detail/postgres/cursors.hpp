#pragma once

// The PostgresInbox's cursors: one small table in the inbox's schema, created on first use.
// Creating it lazily instead of in a schema version keeps every existing inbox schema usable
// by this build and this build's schemas usable by older builds (they look only at their own
// tables). Every replica shares the values.
#include <optional>
#include <string>
#include <vector>

#include "session.hpp"
#include "statements.hpp"

namespace allthings::webhooks::detail::pg {

inline Statement create_cursor_table(const std::string& schema) {
  return {"", in_schema("CREATE TABLE IF NOT EXISTS {s}.cursors "
                        "(key text PRIMARY KEY, value text NOT NULL)",
                        schema),
          Params()};
}

inline std::optional<std::string> load_cursor(Session& session, const std::string& schema,
                                              const std::string& key) {
  std::vector<Statement> statements{
      create_cursor_table(schema),
      {"", in_schema("SELECT value FROM {s}.cursors WHERE key = $1", schema), Params().text(key)}};
  const auto results = session.run(statements);
  if (results[1].rows() != 1) return std::nullopt;
  return results[1].text(0, 0);
}

inline void save_cursor(Session& session, const std::string& schema, const std::string& key,
                        const std::string& value) {
  std::vector<Statement> statements{
      create_cursor_table(schema),
      {"",
       in_schema("INSERT INTO {s}.cursors (key, value) VALUES ($1, $2) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 schema),
       Params().text(key).text(value)}};
  session.run(statements);
}

}  // namespace allthings::webhooks::detail::pg
