#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace allthings::webhooks::reconcile {

// An event a run found missing: recovered, or (dry run) that would be.
struct FoundEvent {
  std::string id;
  std::string name;
  std::string created_date;
  std::string delivery_status;  // of the delivery it was read from: PENDING, SUCCESS, FAILED
};

// A delivery that could not be used: its id (may be empty) and what was wrong, naming the
// field, never its content.
struct MalformedDelivery {
  std::string delivery_id;
  std::string event_id;
  std::string reason;
};

// What one reconciliation run did.
struct ReconcileReport {
  std::string webhook_id;
  // Events created before this were not considered: the requested `since`, moved forward to
  // the retention window and to the receiver's dedupe window (see since_limited_by_dedupe).
  std::chrono::system_clock::time_point since;
  // True when `since` was moved forward to now - Options::dedupe_window: older events may have
  // been processed and forgotten by the inbox, and would run again.
  bool since_limited_by_dedupe = false;
  bool dry_run = false;

  std::size_t pages = 0;
  std::size_t deliveries_scanned = 0;
  std::size_t deliveries_before_since = 0;  // skipped: their event is older than `since`
  std::size_t events_already_seen = 0;      // the inbox knew them: nothing ran again
  std::size_t events_recovered = 0;         // accepted now (dry run: missing, not accepted)
  std::size_t events_refused = 0;           // the inbox could not take them (full, unavailable)
  std::size_t failed_to_parse = 0;          // malformed deliveries, skipped

  std::vector<FoundEvent> recovered;  // dry run: the missing ones
  std::vector<MalformedDelivery> malformed;

  // Every page was read and every event found was offered to the inbox.
  bool complete = false;
  bool page_limit_reached = false;
  std::string error;  // why the run stopped early; empty when it did not

  // Dry run with an inbox that cannot look ids up (MemoryInbox): every event found is listed
  // as missing, as the inbox cannot tell which it has.
  bool seen_unknown = false;
  // Where the high-water mark is kept: false when in memory only (a MemoryInbox has no store),
  // so a restart starts again from the retention window.
  bool high_water_mark_durable = false;
  bool high_water_mark_advanced = false;
};

}  // namespace allthings::webhooks::reconcile
