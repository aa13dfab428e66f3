#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace allthings::webhooks {

// How a SqliteInbox uses its file. What the receiver decides (queue_capacity, dedupe_window,
// clock, envelope) comes from the receiver's Options through Inbox::attach.
struct SqliteInboxSettings {
  // How long a write waits for another connection's lock before accept() answers
  // `unavailable` (503).
  std::chrono::milliseconds busy_timeout{1000};
  // Accepts that arrive while a commit is under way share the next transaction and fsync.
  // Waiting this much longer for company before each commit trades latency for larger
  // batches; zero waits for nobody.
  std::chrono::microseconds group_commit_window{0};
  // Most accepts in one transaction; also, once this many outcomes are logged with no accepts
  // to commit them with, they get a commit of their own.
  std::size_t max_batch = 512;
  // How often completed events past the dedupe window are pruned, dead letters requeued by
  // another process (e.g. `allthings-webhooks inbox`) are picked up, and logged outcomes are
  // committed when no accepts came to carry them.
  std::chrono::milliseconds maintenance_interval{1000};
  // Most rows one maintenance transaction deletes, so pruning never holds up accepts for long.
  std::size_t prune_batch = 1000;
  // A cap on the database's size (PRAGMA max_page_count). Beyond it accept() answers
  // `unavailable` (503) until completed events (whose bodies are dropped) or pruning free
  // pages. Zero: only the disk limits it.
  std::uint64_t max_size_bytes = 0;
  // Runs PRAGMA quick_check when opening an existing file, so a corrupt file fails at
  // construction instead of half-way through. It reads the whole file once.
  bool check_integrity_on_open = true;
};

// Group-commit figures since the inbox was attached.
struct CommitStats {
  std::uint64_t commits = 0;           // transactions of accepts and outcomes committed
  std::uint64_t event_commits = 0;     // of those, the ones that stored at least one new event
  std::uint64_t events_committed = 0;  // new events stored

  // How many accepted events shared one commit (and one fsync), on average.
  double events_per_commit() const {
    return event_commits == 0
               ? 0.0
               : static_cast<double>(events_committed) / static_cast<double>(event_commits);
  }
};

}  // namespace allthings::webhooks
