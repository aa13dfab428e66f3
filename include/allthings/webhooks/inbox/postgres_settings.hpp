#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace allthings::webhooks {

// How a PostgresInbox uses its database. What the receiver decides (queue_capacity,
// dedupe_window, clock, envelope, serialize_by) comes from the receiver's Options through
// Inbox::attach.
struct PostgresInboxSettings {
  // The schema that holds the inbox's tables, created when missing. Replicas that share a
  // queue use the same schema; another schema is another inbox. Letters, digits and '_'.
  std::string schema = "allthings_webhooks";

  // How long a replica's claim on an event lasts without a heartbeat. An event whose replica
  // died runs again elsewhere this long after the last heartbeat.
  std::chrono::milliseconds lease{std::chrono::seconds(30)};
  // How often the leases of the events this replica holds are renewed; below `lease`.
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(5)};

  // Workers that find nothing look again this often, whatever LISTEN/NOTIFY does. At most
  // `lease`.
  std::chrono::milliseconds poll_interval{500};
  // No LISTEN connection: polling alone, for connection poolers (PgBouncer in transaction
  // mode) that do not carry LISTEN. Accepts still send their NOTIFY for other replicas.
  bool poll_only = false;

  // Most accepts in one transaction (one multi-row insert, one commit).
  std::size_t max_batch = 512;
  // Connections (and threads) that commit accepts. With one, the accepts that arrive while a
  // batch commits form the next batch: fewer, larger transactions, which was fastest on the
  // benchmark's two cores (docs/postgres.md). More let batches commit side by side, for a
  // server with disks and cores to spare.
  std::size_t accept_connections = 1;
  // Most events one claim leases, for the workers waiting at that moment.
  std::size_t claim_batch = 32;
  // Outcomes not yet committed while their workers take the next event: complete() returns
  // at once while at most this many are on their way, and waits for a commit otherwise. When
  // this replica is killed, another one runs those finished events again after their lease,
  // besides the events it interrupted. 0: every complete() waits for its commit, as
  // SqliteInbox's does; that was a fifth to a third slower on the benchmark
  // (docs/postgres.md). No upper limit.
  std::size_t unwritten_completions = 8;

  // Every statement is cancelled after this long (SET statement_timeout); the request whose
  // accept it was gets 503 with Retry-After.
  std::chrono::milliseconds statement_timeout{std::chrono::seconds(5)};
  // Connecting gives up after this long (libpq's connect_timeout; it counts whole seconds,
  // at least 2).
  std::chrono::seconds connect_timeout{5};

  // How often remembered ids past the dedupe window are pruned, at most prune_batch rows per
  // transaction so that pruning never holds up accepts for long.
  std::chrono::milliseconds maintenance_interval{std::chrono::seconds(1)};
  std::size_t prune_batch = 1000;

  // This replica's name in the database (who holds a lease, who completed an event) and in
  // pg_stat_activity's application_name. Empty: host name and process id.
  std::string replica_name;
};

// What a PostgresInbox did since it was attached.
struct PostgresInboxStats {
  std::uint64_t commits = 0;           // accept transactions committed
  std::uint64_t events_committed = 0;  // new events they stored
  std::uint64_t claims = 0;            // events leased by this replica
  std::uint64_t outcomes = 0;          // outcomes written (complete, retry, dead letter)
  // Outcomes refused because the lease had passed to another replica meanwhile (fencing):
  // the other replica's outcome stands.
  std::uint64_t fenced_outcomes = 0;
  std::uint64_t leases_lost = 0;  // heartbeats that found the lease taken over
  std::uint64_t reconnects = 0;   // connections re-established after a failure

  // How many accepted events shared one commit, on average.
  double events_per_commit() const {
    return commits == 0 ? 0.0
                        : static_cast<double>(events_committed) / static_cast<double>(commits);
  }
};

}  // namespace allthings::webhooks
