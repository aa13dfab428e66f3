#pragma once

// The operator's side of the inbox's tables (InboxOperations, and the queue's depth) over one
// session. Not thread-safe: its owners guard it with a mutex.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../../inbox/operations.hpp"
#include "../queue/stored_form.hpp"
#include "session.hpp"
#include "statements.hpp"

namespace allthings::webhooks::detail::pg {

class OperatorTables {
 public:
  OperatorTables(Session& session, const InboxSql& sql) : session_(session), sql_(sql) {}

  std::vector<DeadLetter> dead_letters() {
    const auto rows = session_.run({"aw_dead_letters", sql_.dead_letters, {}})[0];
    std::vector<DeadLetter> letters;
    for (int r = 0; r < rows.rows(); ++r) {
      letters.push_back(DeadLetter{rows.text(r, 0), rows.text(r, 1),
                                   static_cast<int>(rows.int8(r, 2)), rows.text(r, 3),
                                   from_millis(rows.int8(r, 4)), from_millis(rows.int8(r, 5))});
    }
    return letters;
  }

  std::optional<StoredEvent> find(const std::string& id) {
    std::vector<Statement> both{{"aw_find_queued", sql_.find_queued, Params().text(id)},
                                {"aw_find_completed", sql_.find_completed, Params().text(id)}};
    const auto rows = session_.run(both);
    const Result& queued = rows[0];
    if (queued.rows() == 1) {
      StoredEvent event;
      event.id = queued.text(0, 0);
      event.name = queued.text(0, 1);
      event.state = queued.text(0, 2) == "dead" ? StoredState::dead_letter : StoredState::pending;
      event.attempt = static_cast<int>(queued.int8(0, 3));
      event.received_at = from_millis(queued.int8(0, 4));
      if (!queued.is_null(0, 5)) event.next_attempt_at = from_millis(queued.int8(0, 5));
      if (!queued.is_null(0, 6)) event.finished_at = from_millis(queued.int8(0, 6));
      event.dead_letter_reason = queued.text(0, 7);
      event.pending_handlers = handlers_from_json(queued.text(0, 8));
      event.raw_body = queued.text(0, 9);
      event.headers = headers_from_json(queued.text(0, 10));
      return event;
    }
    const Result& completed = rows[1];
    if (completed.rows() != 1) return std::nullopt;
    StoredEvent event;
    event.id = completed.text(0, 0);
    event.name = completed.text(0, 1);
    event.state = StoredState::completed;
    event.received_at = from_millis(completed.int8(0, 2));
    event.finished_at = from_millis(completed.int8(0, 3));
    return event;
  }

  std::size_t count(StoredState state) {
    const auto& sql = state == StoredState::pending       ? sql_.count_pending
                      : state == StoredState::dead_letter ? sql_.count_dead
                                                          : sql_.count_completed;
    const char* name = state == StoredState::pending       ? "aw_count_pending"
                       : state == StoredState::dead_letter ? "aw_count_dead"
                                                           : "aw_count_completed";
    return static_cast<std::size_t>(session_.run({name, sql, {}})[0].int8(0, 0));
  }

  // Requeued events are announced with a NOTIFY in the same transaction, so receivers that
  // LISTEN pick them up at once and the others at their next poll.
  bool requeue(const std::string& id) {
    std::vector<Statement> both{{"aw_requeue", sql_.requeue, Params().text(id)},
                                {"aw_notify", sql_.notify, Params().text(sql_.channel).text("")}};
    return session_.run(both)[0].rows() == 1;
  }

  std::size_t requeue_all() {
    std::vector<Statement> both{{"aw_requeue_all", sql_.requeue_all, {}},
                                {"aw_notify", sql_.notify, Params().text(sql_.channel).text("")}};
    return static_cast<std::size_t>(session_.run(both)[0].rows());
  }

 private:
  Session& session_;
  const InboxSql& sql_;
};

}  // namespace allthings::webhooks::detail::pg
