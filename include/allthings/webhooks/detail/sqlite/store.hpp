#pragma once

// The durable inbox's rows and the SQL that reads and writes them. A store owns one
// connection and is not thread-safe: SqliteInbox confines each store to one thread or mutex.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../event.hpp"
#include "../../inbox/operations.hpp"
#include "../queue/stored_form.hpp"
#include "connection.hpp"

namespace allthings::webhooks::detail {

// What a worker reports about one delivery.
struct Outcome {
  enum class Kind { complete, retry, dead_letter };
  Kind kind = Kind::complete;
  std::string id;
  int attempt = 0;                    // retry: the next attempt; otherwise the one that ran
  std::vector<std::size_t> handlers;  // the handlers still to run
  WallTime at;                        // finished at, or (retry) due at
  std::string reason;                 // dead letter
};

class SqliteInboxStore {
 public:
  explicit SqliteInboxStore(sqlite::Connection connection)
      : db_(std::move(connection)),
        insert_(db_.prepare(
            "INSERT INTO events (id, name, raw_body, headers, received_at_ms, accepted_at_ms) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING")),
        forget_expired_(db_.prepare(
            "DELETE FROM events WHERE id = ?1 AND state = 'completed' AND accepted_at_ms <= ?2")),
        remembers_(db_.prepare(
            "SELECT 1 FROM events WHERE id = ?1 "
            "AND NOT (state = 'completed' AND accepted_at_ms <= ?2)")),
        complete_(db_.prepare(
            "UPDATE events SET state = 'completed', finished_at_ms = ?2, raw_body = X'', "
            "headers = '[]', pending_handlers = '[]', requeued = 0 "
            "WHERE id = ?1 AND state = 'pending'")),
        retry_(db_.prepare(
            "UPDATE events SET attempt = ?2, next_attempt_at_ms = ?3, pending_handlers = ?4 "
            "WHERE id = ?1 AND state = 'pending'")),
        dead_letter_(db_.prepare(
            "UPDATE events SET state = 'dead', attempt = ?2, dead_reason = ?3, "
            "finished_at_ms = ?4, pending_handlers = ?5, requeued = 0 "
            "WHERE id = ?1 AND state = 'pending'")),
        pending_(db_.prepare(select_events + "WHERE state = 'pending' ORDER BY seq")),
        requeued_(db_.prepare(select_events +
                              "WHERE requeued = 1 AND state = 'pending' ORDER BY seq")),
        clear_requeued_(db_.prepare("UPDATE events SET requeued = 0 WHERE requeued = 1")),
        prune_(db_.prepare(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events "
            "WHERE state = 'completed' AND accepted_at_ms <= ?1 LIMIT ?2)")),
        dead_letters_(db_.prepare(
            "SELECT id, name, attempt, dead_reason, received_at_ms, finished_at_ms "
            "FROM events WHERE state = 'dead' ORDER BY seq")),
        find_(db_.prepare(select_events + "WHERE id = ?1")),
        requeue_(db_.prepare(requeue_events + "AND id = ?1")),
        requeue_all_(db_.prepare(requeue_events)),
        count_(db_.prepare("SELECT count(*) FROM events WHERE state = ?1")),
        applied_seq_(db_.prepare("SELECT applied_seq FROM outcome_log")),
        set_applied_seq_(db_.prepare("UPDATE outcome_log SET applied_seq = ?1")) {}

  sqlite::Connection& connection() { return db_; }

  // Whether the next commits wait until the WAL is fsync'd (FULL: survives power loss) or only
  // until the OS has the bytes (NORMAL: survives a crash of this process). The connection
  // starts with FULL; the setting may change only between transactions.
  void sync_commits(bool full) {
    if (full == full_sync_) return;
    db_.exec(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    full_sync_ = full;
  }

  // Inserts the event unless its id is remembered: pending, dead, or completed and accepted
  // within the dedupe window (an expired completed row is replaced). True when inserted.
  // `headers_json` is headers_to_json(record.headers), made by the caller off the committer.
  bool insert_new(const EventRecord& record, const std::string& headers_json, WallTime now,
                  std::chrono::seconds window) {
    if (insert(record, headers_json, now)) return true;
    auto forget = forget_expired_.execute();
    forget.bind(1, record.id).bind(2, to_millis(now - window));
    return forget.run() == 1 && insert(record, headers_json, now);
  }

  bool remembers(const std::string& id, WallTime now, std::chrono::seconds window) {
    auto query = remembers_.execute();
    query.bind(1, id).bind(2, to_millis(now - window));
    return query.step();
  }

  void apply(const Outcome& outcome) {
    switch (outcome.kind) {
      case Outcome::Kind::complete: mark_completed(outcome.id, outcome.at); break;
      case Outcome::Kind::retry:
        schedule_retry(outcome.id, outcome.attempt, outcome.at, outcome.handlers);
        break;
      case Outcome::Kind::dead_letter:
        mark_dead_letter(outcome.id, outcome.attempt, outcome.reason, outcome.at,
                         outcome.handlers);
        break;
    }
  }

  // The sequence number of the last outcome log record applied (0: none yet).
  std::uint64_t applied_outcome_seq() {
    auto query = applied_seq_.execute();
    return query.step() ? static_cast<std::uint64_t>(query.integer(0)) : 0;
  }

  void set_applied_outcome_seq(std::uint64_t seq) {
    auto update = set_applied_seq_.execute();
    update.bind(1, static_cast<std::int64_t>(seq));
    if (update.run() == 0) {
      // The row was deleted by hand: without it every record would be applied at each start.
      db_.exec(("INSERT INTO outcome_log (applied_seq) VALUES (" + std::to_string(seq) + ")")
                   .c_str());
    }
  }

  // Every pending event in arrival order.
  std::vector<StoredEvent> pending() { return read_events(pending_); }

  // Pending events flagged by requeue (in any process), in arrival order; clears the flags.
  std::vector<StoredEvent> take_requeued() {
    auto events = read_events(requeued_);
    if (!events.empty()) clear_requeued_.execute().run();
    return events;
  }

  // Deletes up to `limit` completed events accepted at or before `accepted_before`.
  std::size_t prune_completed(WallTime accepted_before, std::size_t limit) {
    auto remove = prune_.execute();
    remove.bind(1, to_millis(accepted_before)).bind(2, static_cast<std::int64_t>(limit));
    return static_cast<std::size_t>(remove.run());
  }

  std::vector<DeadLetter> dead_letters() {
    std::vector<DeadLetter> letters;
    auto query = dead_letters_.execute();
    while (query.step()) {
      letters.push_back(DeadLetter{query.text(0), query.text(1), static_cast<int>(query.integer(2)),
                                   query.text(3), from_millis(query.integer(4)),
                                   from_millis(query.integer(5))});
    }
    return letters;
  }

  std::optional<StoredEvent> find(const std::string& id) {
    auto query = find_.execute();
    query.bind(1, id);
    if (!query.step()) return std::nullopt;
    return read_event(query);
  }

  // Makes a dead letter pending again with a fresh round of attempts. The handlers that had
  // not succeeded stay the ones to run. True when `id` was a dead letter.
  bool requeue(const std::string& id) {
    auto update = requeue_.execute();
    update.bind(1, id);
    return update.run() == 1;
  }

  std::size_t requeue_all() { return static_cast<std::size_t>(requeue_all_.execute().run()); }

  std::size_t count(StoredState state) {
    auto query = count_.execute();
    query.bind(1, std::string_view(to_string(state)));
    return query.step() ? static_cast<std::size_t>(query.integer(0)) : 0;
  }

 private:
  void mark_completed(const std::string& id, WallTime now) {
    auto update = complete_.execute();
    update.bind(1, id).bind(2, to_millis(now));
    update.run();
  }

  void schedule_retry(const std::string& id, int attempt, WallTime due,
                      const std::vector<std::size_t>& handlers) {
    const auto handlers_json = handlers_to_json(handlers);
    auto update = retry_.execute();
    update.bind(1, id).bind(2, std::int64_t{attempt}).bind(3, to_millis(due));
    update.bind(4, handlers_json);
    update.run();
  }

  void mark_dead_letter(const std::string& id, int attempt, const std::string& reason,
                        WallTime now, const std::vector<std::size_t>& handlers) {
    const auto handlers_json = handlers_to_json(handlers);
    auto update = dead_letter_.execute();
    update.bind(1, id).bind(2, std::int64_t{attempt}).bind(3, reason).bind(4, to_millis(now));
    update.bind(5, handlers_json);
    update.run();
  }

  static inline const std::string select_events =
      "SELECT id, name, state, attempt, received_at_ms, next_attempt_at_ms, finished_at_ms, "
      "dead_reason, pending_handlers, raw_body, headers FROM events ";
  static inline const std::string requeue_events =
      "UPDATE events SET state = 'pending', attempt = 1, next_attempt_at_ms = 0, "
      "dead_reason = NULL, finished_at_ms = NULL, requeued = 1 WHERE state = 'dead' ";

  bool insert(const EventRecord& record, const std::string& headers_json, WallTime now) {
    auto statement = insert_.execute();
    statement.bind(1, record.id).bind(2, record.name).bind_blob(3, record.raw_body);
    statement.bind(4, headers_json).bind(5, to_millis(record.received_at)).bind(6, to_millis(now));
    return statement.run() == 1;
  }

  std::vector<StoredEvent> read_events(sqlite::Statement& statement) {
    std::vector<StoredEvent> events;
    auto query = statement.execute();
    while (query.step()) events.push_back(read_event(query));
    return events;
  }

  static StoredEvent read_event(const sqlite::Execution& row) {
    StoredEvent event;
    event.id = row.text(0);
    event.name = row.text(1);
    const auto state = row.text(2);
    event.state = state == "completed" ? StoredState::completed
                  : state == "dead"    ? StoredState::dead_letter
                                       : StoredState::pending;
    event.attempt = static_cast<int>(row.integer(3));
    event.received_at = from_millis(row.integer(4));
    if (event.state == StoredState::pending && row.integer(5) > 0) {
      event.next_attempt_at = from_millis(row.integer(5));
    }
    if (!row.is_null(6)) event.finished_at = from_millis(row.integer(6));
    event.dead_letter_reason = row.text(7);
    event.pending_handlers = handlers_from_json(row.text(8));
    event.raw_body = row.text(9);
    event.headers = headers_from_json(row.text(10));
    return event;
  }

  sqlite::Connection db_;
  bool full_sync_ = true;  // open_inbox_database sets synchronous = FULL
  sqlite::Statement insert_, forget_expired_, remembers_, complete_, retry_, dead_letter_,
      pending_, requeued_, clear_requeued_, prune_, dead_letters_, find_, requeue_,
      requeue_all_, count_, applied_seq_, set_applied_seq_;
};

}  // namespace allthings::webhooks::detail
