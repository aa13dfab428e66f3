#pragma once

// The SQL of the PostgreSQL inbox, written once for its schema. Times the receiver decides
// (received, accepted, the dedupe window) are the receiver's clock in milliseconds since the
// epoch; times that replicas must agree on (when an event may be claimed, when a lease ends)
// are the database's now(), so replicas' clocks need not agree.
#include <string>

namespace allthings::webhooks::detail::pg {

// "name" with embedded quotes doubled: an SQL identifier.
inline std::string quoted_identifier(const std::string& name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// Replaces every "{s}" in `sql` with the quoted schema.
inline std::string in_schema(std::string sql, const std::string& schema) {
  const std::string quoted = quoted_identifier(schema);
  for (auto at = sql.find("{s}"); at != std::string::npos; at = sql.find("{s}", at)) {
    sql.replace(at, 3, quoted);
    at += quoted.size();
  }
  return sql;
}

// Answers of the accept statement, per input row.
enum AcceptAnswer : long long { accepted_answer = 0, duplicate_answer = 1, full_answer = 2 };

struct InboxSql {
  explicit InboxSql(const std::string& schema_name)
      : schema(schema_name), channel("allthings_webhooks_" + schema_name) {}

  std::string schema;
  // NOTIFY channel: the hint that new events are ready.
  std::string channel;

  // One batch of accepts. $1..$6: arrays of id, name, body, headers (JSON), received at, and
  // serialize key (NULL: none); $7: accepted at; $8: remembered ids accepted at or before this
  // may be forgotten (now - dedupe window); $9: queue capacity; $10: 1 to count the queue, 0
  // when the committer knows it is far from full (counting reads every queued row, up to
  // $9). An id is remembered in seen_ids (its unique key decides between replicas: a
  // concurrent insert of the same id waits for the other transaction and then sees it) and
  // the event is queued in events. Rows beyond the room left in the queue are not remembered
  // at all, so their retry is new. Answers one row per input row, in input order: AcceptAnswer,
  // the room counted before the batch (-1: not counted), and the queued event's seq (NULL: not
  // queued).
  std::string accept = in_schema(R"sql(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::int8[], $6::text[])
    WITH ORDINALITY AS t(id, name, raw_body, headers, received_at_ms, serial_key, ord)
), room AS (
  SELECT CASE WHEN $10::int8 = 1 THEN $9::int8 - (
    SELECT count(*) FROM (SELECT 1 FROM {s}.events WHERE state = 'pending' LIMIT $9) AS queued)
    ELSE $9::int8 END AS n
), remembered AS (
  INSERT INTO {s}.seen_ids AS s (id, name, received_at_ms, accepted_at_ms)
  SELECT id, name, received_at_ms, $7 FROM input WHERE ord <= (SELECT n FROM room) ORDER BY id
  ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, received_at_ms = EXCLUDED.received_at_ms,
    accepted_at_ms = EXCLUDED.accepted_at_ms, completed_at_ms = NULL, completed_by = NULL
    WHERE s.completed_at_ms IS NOT NULL AND s.accepted_at_ms <= $8
  RETURNING id
), queued AS (
  INSERT INTO {s}.events (id, name, raw_body, headers, received_at_ms, serial_key)
  SELECT i.id, i.name, i.raw_body, i.headers, i.received_at_ms, i.serial_key
  FROM input i JOIN remembered r ON r.id = i.id ORDER BY i.ord
  RETURNING id, seq
)
SELECT (CASE
  WHEN q.id IS NOT NULL THEN 0
  WHEN i.ord <= (SELECT n FROM room) THEN 1
  WHEN EXISTS (SELECT 1 FROM {s}.seen_ids s WHERE s.id = i.id
               AND NOT (s.completed_at_ms IS NOT NULL AND s.accepted_at_ms <= $8)) THEN 1
  ELSE 2 END)::int8, CASE WHEN $10::int8 = 1 THEN (SELECT n FROM room) ELSE -1 END, q.seq
FROM input i LEFT JOIN queued q ON q.id = i.id ORDER BY i.ord
)sql",
                                 schema);

  // Before a batch with serialize keys: one transaction-long lock per key, taken in key order
  // (no deadlocks), so two batches with the same key commit one after the other and an
  // event's seq is below the seq of every later event with its key that any replica can see.
  // That is what lets claim_ready take only the first unfinished event of a key. $1: keys;
  // $2: this inbox's lock space.
  std::string lock_keys = R"sql(
SELECT count(pg_advisory_xact_lock(hashtext($2), hashtext(k)))::int8
FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS k ORDER BY k) AS keys
)sql";
  std::string lock_space() const { return "allthings-webhooks keys " + schema; }

  // $1 channel, $2 payload: the sender's replica name (a replica ignores its own: its commits
  // wake its workers directly).
  std::string notify = "SELECT pg_notify($1, $2)";
  // The same as a transaction of its own, after an accept batch committed. A transaction that
  // NOTIFYs holds a database-wide lock from its commit until the end of the commit, WAL flush
  // included, so inside the accept transaction it made the accept connections flush one
  // after the other instead of sharing one flush. Its commit need not wait for the disk: a
  // hint lost in a crash costs at most a poll interval.
  std::string notify_committed =
      "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)";

  // Leases up to $2 events that are due, in arrival order, skipping those another replica is
  // claiming right now, and an event whose key has an earlier unfinished event. $1: the fresh
  // lease token; $3: the lease in milliseconds; $4: this replica's name; $5: the lowest seq to
  // look at (0: all; see LeaseKeeper::claim_floor_). The last column is 1 for an event with a
  // serialize key: its outcome may make the next event of its key claimable.
  std::string claim_ready = in_schema(R"sql(
UPDATE {s}.events e SET lease_token = $1, leased_by = $4,
  available_at = now() + $3::float8 * interval '1 millisecond'
FROM (
  SELECT c.seq FROM {s}.events c
  WHERE c.state = 'pending' AND c.seq >= $5 AND c.available_at <= now()
    AND (c.serial_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM {s}.events p
      WHERE p.serial_key = c.serial_key AND p.state = 'pending' AND p.seq < c.seq))
  ORDER BY c.seq LIMIT $2
  FOR UPDATE SKIP LOCKED
) AS claimed
WHERE e.seq = claimed.seq
RETURNING e.seq, e.id, e.name, e.raw_body, e.headers, e.received_at_ms, e.attempt::int8,
  e.pending_handlers, (e.serial_key IS NOT NULL)::int4::int8
)sql",
                                      schema);

  // Outcomes, each only WHERE the lease token is still the writer's: a replica whose lease
  // passed to another cannot overwrite what that one does (fencing). Each returns the ids it
  // changed.
  //
  // These and the lease statements below say `state <> 'dead'` (a dead row's lease_token is
  // NULL anyway), never `state = 'pending'`: that would let the planner scan the whole
  // events_pending index and join the input to each row, and the generic plan, made once while
  // the queue is empty, keeps that choice: a completion then costs O(backlog). Without it the
  // only index left is the id's, looked up once per input row.
  // $1 ids, $2 tokens, $3 completed at.
  std::string complete = in_schema(R"sql(
WITH done AS (
  DELETE FROM {s}.events e USING unnest($1::text[], $2::int8[]) AS o(id, token)
  WHERE e.id = o.id AND e.lease_token = o.token AND e.state <> 'dead'
  RETURNING e.id, e.leased_by
), remembered AS (
  UPDATE {s}.seen_ids s SET completed_at_ms = $3, completed_by = done.leased_by
  FROM done WHERE s.id = done.id
)
SELECT id FROM done
)sql",
                                   schema);
  // $1 id, $2 token, $3 next attempt, $4 handlers (JSON), $5 delay in milliseconds.
  std::string retry = in_schema(R"sql(
UPDATE {s}.events SET attempt = $3, pending_handlers = $4, lease_token = NULL,
  available_at = now() + $5::float8 * interval '1 millisecond'
WHERE id = $1 AND lease_token = $2 AND state <> 'dead'
RETURNING id
)sql",
                                schema);
  // $1 id, $2 token, $3 attempt, $4 handlers (JSON), $5 reason, $6 at.
  std::string dead_letter = in_schema(R"sql(
UPDATE {s}.events SET state = 'dead', attempt = $3, pending_handlers = $4, dead_reason = $5,
  dead_at_ms = $6, lease_token = NULL
WHERE id = $1 AND lease_token = $2 AND state <> 'dead'
RETURNING id
)sql",
                                      schema);
  // Renews leases: $1 ids, $2 tokens, $3 lease in milliseconds. Returns those still ours.
  std::string heartbeat = in_schema(R"sql(
UPDATE {s}.events e SET available_at = now() + $3::float8 * interval '1 millisecond'
FROM unnest($1::text[], $2::int8[]) AS h(id, token)
WHERE e.id = h.id AND e.lease_token = h.token AND e.state <> 'dead'
RETURNING e.id
)sql",
                                    schema);
  // Gives leases back, due at once for any replica: $1 ids, $2 tokens.
  std::string release = in_schema(R"sql(
UPDATE {s}.events e SET lease_token = NULL, available_at = now()
FROM unnest($1::text[], $2::int8[]) AS r(id, token)
WHERE e.id = r.id AND e.lease_token = r.token AND e.state <> 'dead'
RETURNING e.id
)sql",
                                  schema);
  // Forgets up to $2 completed ids accepted at or before $1; other replicas' prunes skip the
  // rows this one holds.
  std::string prune = in_schema(R"sql(
DELETE FROM {s}.seen_ids WHERE id IN (
  SELECT id FROM {s}.seen_ids WHERE accepted_at_ms <= $1 AND completed_at_ms IS NOT NULL
  ORDER BY accepted_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
)sql",
                                schema);

  // The operator's queries.
  std::string count_pending =
      in_schema("SELECT count(*)::int8 FROM {s}.events WHERE state = 'pending'", schema);
  std::string count_dead =
      in_schema("SELECT count(*)::int8 FROM {s}.events WHERE state = 'dead'", schema);
  std::string count_completed = in_schema(
      "SELECT count(*)::int8 FROM {s}.seen_ids WHERE completed_at_ms IS NOT NULL", schema);
  std::string dead_letters = in_schema(R"sql(
SELECT id, name, attempt::int8, coalesce(dead_reason, ''), received_at_ms, coalesce(dead_at_ms, 0)
FROM {s}.events WHERE state = 'dead' ORDER BY seq
)sql",
                                       schema);
  // The next attempt's time is reported only for an event waiting for a retry.
  std::string find_queued = in_schema(R"sql(
SELECT id, name, state, attempt::int8, received_at_ms,
  CASE WHEN state = 'pending' AND lease_token IS NULL AND available_at > now()
       THEN (extract(epoch FROM available_at) * 1000)::int8 END,
  dead_at_ms, coalesce(dead_reason, ''), pending_handlers, raw_body, headers
FROM {s}.events WHERE id = $1
)sql",
                                      schema);
  std::string find_completed = in_schema(R"sql(
SELECT id, name, received_at_ms, completed_at_ms FROM {s}.seen_ids
WHERE id = $1 AND completed_at_ms IS NOT NULL
)sql",
                                         schema);
  // A fresh round of attempts; the handlers still to run stay as they were.
  std::string requeue = in_schema(R"sql(
UPDATE {s}.events SET state = 'pending', attempt = 1, available_at = now(), dead_reason = NULL,
  dead_at_ms = NULL, lease_token = NULL
WHERE state = 'dead' AND id = $1
RETURNING id
)sql",
                                  schema);
  std::string requeue_all = in_schema(R"sql(
UPDATE {s}.events SET state = 'pending', attempt = 1, available_at = now(), dead_reason = NULL,
  dead_at_ms = NULL, lease_token = NULL
WHERE state = 'dead'
RETURNING id
)sql",
                                      schema);
};

}  // namespace allthings::webhooks::detail::pg
