#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../detail/postgres/inbox_setup.hpp"
#include "../detail/postgres/operator_tables.hpp"
#include "operations.hpp"
#include "postgres_settings.hpp"

namespace allthings::webhooks {

// The operator's view of a PostgresInbox's database: dead letters, requeueing, looking events
// up. It never dispatches, so it runs in any process next to the receivers (an admin tool);
// a requeued event is announced with a NOTIFY and picked up by a receiver at once, or at its
// next poll. Thread-safe. Methods throw InboxStoreError when the database cannot be reached.
class PostgresInboxDatabase final : public InboxOperations {
 public:
  // Opens the inbox in settings.schema (only schema, statement_timeout and connect_timeout
  // apply). Throws std::invalid_argument for an unparsable connection string or invalid
  // settings, and InboxStoreError naming the database and the problem when it is unreachable
  // or the schema holds no inbox, a foreign one or one of a newer version.
  explicit PostgresInboxDatabase(const std::string& conninfo,
                                 PostgresInboxSettings settings = PostgresInboxSettings())
      : settings_(checked(std::move(settings), conninfo)),
        sql_(settings_.schema),
        session_(detail::pg::connect_settings(conninfo, settings_, "operator"),
                 detail::pg::round_trip_timeout(settings_)),
        tables_(session_, sql_) {
    detail::pg::open_schema(session_, settings_.schema, /*create=*/false);
  }

  std::vector<DeadLetter> dead_letters() override {
    return guarded([&] { return tables_.dead_letters(); });
  }
  std::optional<StoredEvent> find(const std::string& id) override {
    return guarded([&] { return tables_.find(id); });
  }
  std::size_t count(StoredState state) override {
    return guarded([&] { return tables_.count(state); });
  }
  bool requeue(const std::string& id) override {
    return guarded([&] { return tables_.requeue(id); });
  }
  std::size_t requeue_all() override {
    return guarded([&] { return tables_.requeue_all(); });
  }

  const std::string& schema() const { return settings_.schema; }

 private:
  static PostgresInboxSettings checked(PostgresInboxSettings settings,
                                       const std::string& conninfo) {
    detail::pg::check_conninfo(conninfo, "PostgresInboxDatabase");
    return detail::pg::checked(std::move(settings));
  }

  template <class Query>
  auto guarded(Query&& query) -> decltype(query()) {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      return query();
    } catch (const detail::pg::Error& error) {
      throw InboxStoreError("PostgresInboxDatabase: schema \"" + settings_.schema +
                            "\": " + error.what());
    }
  }

  const PostgresInboxSettings settings_;
  const detail::pg::InboxSql sql_;
  std::mutex mutex_;
  detail::pg::Session session_;
  detail::pg::OperatorTables tables_;
};

}  // namespace allthings::webhooks
