#pragma once

// What the PostgreSQL inbox and its operator's view check and derive before they connect:
// valid settings, a connection string libpq can parse, each connection's session settings,
// and the schema opened (created or recognised) with a clear InboxStoreError when it cannot be.
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <string>

#include "../../inbox/operations.hpp"
#include "../../inbox/postgres_settings.hpp"
#include "schema.hpp"
#include "session.hpp"

namespace allthings::webhooks::detail::pg {

// Throws std::invalid_argument naming the setting that is out of range.
inline PostgresInboxSettings checked(PostgresInboxSettings settings) {
  auto require = [](bool condition, const char* message) {
    if (!condition) throw std::invalid_argument(std::string("PostgresInboxSettings.") + message);
  };
  // The channel name "allthings_webhooks_<schema>" must fit PostgreSQL's 63-byte names.
  require(!settings.schema.empty() && settings.schema.size() <= 40 &&
              std::all_of(settings.schema.begin(), settings.schema.end(),
                          [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
                          }),
          "schema must be 1 to 40 letters, digits or '_'");
  require(settings.lease.count() > 0, "lease must be positive");
  require(settings.heartbeat_interval.count() > 0 && settings.heartbeat_interval < settings.lease,
          "heartbeat_interval must be positive and shorter than lease");
  require(settings.poll_interval.count() > 0 && settings.poll_interval <= settings.lease,
          "poll_interval must be positive and at most lease");
  require(settings.max_batch > 0, "max_batch must be at least 1");
  require(settings.accept_connections > 0, "accept_connections must be at least 1");
  require(settings.claim_batch > 0, "claim_batch must be at least 1");
  require(settings.statement_timeout.count() > 0, "statement_timeout must be positive");
  require(settings.connect_timeout.count() > 0, "connect_timeout must be positive");
  require(settings.maintenance_interval.count() > 0, "maintenance_interval must be positive");
  require(settings.prune_batch > 0, "prune_batch must be at least 1");
  if (settings.replica_name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    settings.replica_name = std::string(host) + ":" + std::to_string(::getpid());
  }
  return settings;
}

// Throws std::invalid_argument when libpq cannot parse `conninfo` (key=value or URI).
inline void check_conninfo(const std::string& conninfo, const char* who) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    const std::string why = error != nullptr ? trimmed(error) : "out of memory";
    PQfreemem(error);
    throw std::invalid_argument(std::string(who) + ": the connection string is not valid (" + why +
                                ")");
  }
  PQconninfoFree(options);
}

// A round trip's bound: the statement time-out plus what the network may add.
inline std::chrono::milliseconds round_trip_timeout(const PostgresInboxSettings& settings) {
  return settings.statement_timeout + std::chrono::seconds(2);
}

// The settings of one of an inbox's connections; `role` names it in pg_stat_activity.
inline ConnectSettings connect_settings(const std::string& conninfo,
                                        const PostgresInboxSettings& settings,
                                        const std::string& role, bool wait_for_disk = true,
                                        bool pipeline = true) {
  ConnectSettings out;
  out.conninfo = conninfo;
  out.connect_timeout = settings.connect_timeout;
  out.application_name = ("aw " + role + " " + settings.replica_name).substr(0, 63);
  out.pipeline = pipeline;
  out.session.emplace_back("statement_timeout", std::to_string(settings.statement_timeout.count()));
  // Said either way: a database or role whose default is off would otherwise let a 200 go
  // out before the event's WAL is on disk.
  out.session.emplace_back("synchronous_commit", wait_for_disk ? "on" : "off");
  // Every statement of the inbox finds its rows through an index (by id, by seq among the
  // pending ones). The queue table is small but churns: its statistics lag behind its dead
  // rows, and a plan made on them would scan the whole table on every completion.
  out.session.emplace_back("enable_seqscan", "off");
  // Plan each prepared statement once: a custom plan per batch cost more than running it.
  out.session.emplace_back("plan_cache_mode", "force_generic_plan");
  return out;
}

// Connects and makes sure the schema holds an inbox this build reads, creating it when allowed.
// Throws InboxStoreError naming the database, the schema and the problem.
inline void open_schema(Session& session, const std::string& schema, bool create) {
  try {
    Connection& connection = session.connected();
    prepare_schema(connection, schema, create, SteadyClock::now() + std::chrono::seconds(30));
  } catch (const Error& error) {
    if (error.connection_broken()) session.reset();
    throw inbox_store_error("schema \"" + schema + "\":", error.what());
  }
}

}  // namespace allthings::webhooks::detail::pg
