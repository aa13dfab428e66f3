#pragma once

// The PostgreSQL inbox's schema: created when missing or empty, recognised by its inbox_meta
// row (the counterpart of SqliteInbox's application_id and user_version), and refused, never
// altered, when it belongs to something else or to a newer version of this library.
#include <cstdint>
#include <string>
#include <vector>

#include "../../inbox/operations.hpp"
#include "connection.hpp"
#include "statements.hpp"

namespace allthings::webhooks::detail::pg {

inline constexpr const char* inbox_application = "allthings-webhooks inbox";
// inbox_meta.schema_version; bump with every schema change and teach prepare_schema to migrate.
inline constexpr std::int64_t inbox_schema_version = 1;

// seen_ids remembers every id for the dedupe window, apart from the queue so that the queue,
// which every claim scans, holds only unfinished events and dead letters. events is that
// queue: a row leaves it when its event completes. available_at is when the event may be
// claimed (now, after a retry's delay, or when its lease ends); lease_token says whose claim
// it is. Partial indexes keep claims, per-key order and dead letters cheap; fillfactor leaves
// room for the lease updates to stay on their page (HOT updates).
inline const std::vector<std::string> inbox_schema_sql = {
    R"sql(CREATE SCHEMA IF NOT EXISTS {s})sql",
    R"sql(CREATE TABLE {s}.inbox_meta (
  application text NOT NULL,
  schema_version integer NOT NULL
))sql",
    R"sql(INSERT INTO {s}.inbox_meta (application, schema_version) VALUES ($1, $2))sql",
    R"sql(CREATE TABLE {s}.seen_ids (
  id text PRIMARY KEY,
  name text NOT NULL,
  received_at_ms bigint NOT NULL,
  accepted_at_ms bigint NOT NULL,
  completed_at_ms bigint,
  completed_by text
))sql",
    R"sql(CREATE INDEX seen_ids_accepted ON {s}.seen_ids (accepted_at_ms))sql",
    R"sql(CREATE TABLE {s}.events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  name text NOT NULL,
  raw_body bytea NOT NULL,
  headers text NOT NULL,
  received_at_ms bigint NOT NULL,
  serial_key text,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
  attempt integer NOT NULL DEFAULT 1,
  pending_handlers text NOT NULL DEFAULT '[]',
  available_at timestamptz NOT NULL DEFAULT now(),
  lease_token bigint,
  leased_by text,
  dead_reason text,
  dead_at_ms bigint
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02))sql",
    R"sql(CREATE INDEX events_pending ON {s}.events (seq) WHERE state = 'pending')sql",
    R"sql(CREATE INDEX events_key_order ON {s}.events (serial_key, seq)
  WHERE state = 'pending' AND serial_key IS NOT NULL)sql",
    R"sql(CREATE INDEX events_dead ON {s}.events (seq) WHERE state = 'dead')sql",
};

// The error every problem with the inbox's database is reported with.
inline InboxStoreError inbox_store_error(const std::string& where, const std::string& problem) {
  return InboxStoreError("PostgresInbox: " + where + " " + problem);
}

// What the database holds under the schema's name.
struct SchemaFound {
  bool exists = false;
  std::string tables;  // "a, b", empty when none
  bool has_meta = false;
  std::string application;
  std::int64_t version = 0;
  std::string encoding;
};

inline SchemaFound inspect_schema(Connection& db, const std::string& schema,
                                  SteadyClock::time_point deadline) {
  std::vector<Statement> look{{"", R"sql(
SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = $1)::int8,
  coalesce((SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')), ''),
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname = 'inbox_meta' AND c.relkind = 'r')::int8,
  current_setting('server_encoding')
)sql",
                               Params().text(schema)}};
  const auto rows = db.run(look, deadline);
  SchemaFound found;
  found.exists = rows[0].int8(0, 0) > 0;
  found.tables = rows[0].text(0, 1);
  found.has_meta = rows[0].int8(0, 2) > 0;
  found.encoding = rows[0].text(0, 3);
  if (found.has_meta) {
    std::vector<Statement> meta{
        {"",
         in_schema("SELECT application, schema_version::int8 FROM {s}.inbox_meta LIMIT 1", schema),
         {}}};
    const auto row = db.run(meta, deadline);
    if (row[0].rows() == 1) {
      found.application = row[0].text(0, 0);
      found.version = row[0].int8(0, 1);
    }
  }
  return found;
}

// Throws unless the schema holds an inbox of the version this build reads.
inline void check_is_our_inbox(const SchemaFound& found, const std::string& where) {
  if (!found.has_meta || found.application != inbox_application) {
    throw inbox_store_error(where,
                            "is not an allthings-webhooks inbox: it holds tables " + found.tables);
  }
  if (found.version > inbox_schema_version) {
    throw inbox_store_error(where, "holds inbox schema version " + std::to_string(found.version) +
                                       ", newer than the version " +
                                       std::to_string(inbox_schema_version) + " this build reads");
  }
  for (const char* table : {"events", "seen_ids"}) {
    if ((", " + found.tables + ", ").find(std::string(", ") + table + ", ") == std::string::npos) {
      throw inbox_store_error(where, "is an allthings-webhooks inbox with an unknown schema "
                                     "(version " +
                                         std::to_string(found.version) + ", tables " +
                                         found.tables + ")");
    }
  }
}

// Makes sure `schema` holds an inbox this build can use, creating it when it is missing or
// empty and `create` allows. Replicas starting together serialise on an advisory lock, so one
// creates and the others find it made. Throws InboxStoreError naming the schema, the database
// and the problem; Error when the database cannot be reached.
inline void prepare_schema(Connection& db, const std::string& schema, bool create,
                           SteadyClock::time_point deadline) {
  const std::string where = "schema \"" + schema + "\" of " + db.describe();
  std::vector<Statement> begin{{"", "BEGIN", {}},
                               {"", "SELECT pg_advisory_xact_lock(hashtext($1))",
                                Params().text("allthings-webhooks schema " + schema)}};
  db.run(begin, deadline);
  try {
    const auto found = inspect_schema(db, schema, deadline);
    if (found.encoding != "UTF8" && found.encoding != "SQL_ASCII") {
      throw inbox_store_error(where, "cannot hold the inbox: the database's encoding is " +
                                         found.encoding + ", and the inbox needs UTF8");
    }
    if (!found.exists || found.tables.empty()) {
      if (!create) throw inbox_store_error(where, "holds no inbox");
      std::vector<Statement> ddl;
      for (const auto& sql : inbox_schema_sql) {
        Params params;
        if (sql.find("$1") != std::string::npos) {
          params.text(inbox_application).int8(inbox_schema_version);
        }
        ddl.push_back({"", in_schema(sql, schema), std::move(params)});
      }
      db.run(ddl, deadline);
    } else {
      check_is_our_inbox(found, where);
    }
    std::vector<Statement> commit{{"", "COMMIT", {}}};
    db.run(commit, deadline);
  } catch (...) {
    if (!db.broken()) {
      std::vector<Statement> rollback{{"", "ROLLBACK", {}}};
      try {
        db.run(rollback, deadline);
      } catch (const Error&) {
        // The connection is dropped by its owner on the error that brought us here.
      }
    }
    throw;
  }
}

}  // namespace allthings::webhooks::detail::pg
