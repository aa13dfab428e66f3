#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// A snapshot of what a Receiver measures, for any metrics system. The same figures are what
// /metrics serves in Prometheus' text format (see prometheus.hpp and docs/operations.md).
namespace allthings::webhooks {

// A histogram as Prometheus keeps it: how many observations fell at or below each bound.
struct HistogramSnapshot {
  std::vector<double> upper_bounds;  // ascending, in the metric's unit (seconds, events)
  // cumulative_counts[i]: observations <= upper_bounds[i]; `count` is the +Inf bucket.
  std::vector<std::uint64_t> cumulative_counts;
  std::uint64_t count = 0;
  double sum = 0;
};

// Requests on the webhook path that ended with `outcome` and were answered `status`. Outcomes:
// "accepted", "duplicate", or the name of the ErrorKind that refused the request (to_string).
struct RequestCount {
  std::string outcome;
  int status = 0;
  std::uint64_t count = 0;
};

// What happened to the events of one name after they were acknowledged. `name` is one the
// application registered a handler for by its exact name (on("ticket.created"), on<T>), or
// "other" for every other name, so the set of names stays bounded whatever senders send.
struct EventMetrics {
  std::string name;
  std::uint64_t done = 0;              // attempts after which every handler had succeeded
  std::uint64_t retries = 0;           // attempts after which a retry was scheduled
  std::uint64_t dead_lettered = 0;     // attempts after which the event was given up
  HistogramSnapshot handler_duration;  // seconds a worker spent on one attempt's handlers
};

// What an inbox that commits to a store measures of its commits (SqliteInbox does).
struct InboxCommitMetrics {
  HistogramSnapshot duration;    // seconds per commit (transaction and fsync)
  HistogramSnapshot batch_size;  // events stored per commit that stored any
};

struct Metrics {
  std::string version;  // of this library

  std::vector<RequestCount> requests;
  std::uint64_t duplicates = 0;
  // Refused signatures by reason: "missing" (UnsignedPolicy::reject), "malformed", "mismatch".
  std::vector<std::pair<std::string, std::uint64_t>> signature_failures;
  // Refused timestamps by reason: "missing", "malformed", "stale", "future".
  std::vector<std::pair<std::string, std::uint64_t>> timestamp_failures;
  // Every Error reported (through on_error too), by ErrorKind name.
  std::vector<std::pair<std::string, std::uint64_t>> errors;
  // Seconds from a request's complete body to its answer: verify, parse and store (for a
  // durable inbox, the commit); the time a sender waits on top of the network.
  HistogramSnapshot acknowledgement;

  std::uint64_t queue_depth = 0;     // events accepted and not finished
  std::uint64_t queue_capacity = 0;  // Options::queue_capacity
  // Seconds a due delivery (first attempt or retry) waited in the inbox for a worker.
  HistogramSnapshot queue_wait;
  std::vector<EventMetrics> events;    // registered names first, "other" last
  std::uint64_t unhandled = 0;         // events no handler matched
  std::uint64_t handler_failures = 0;  // handler calls that threw
  std::uint64_t dead_letters = 0;      // events given up since the receiver was built
  // Dead letters the inbox holds now; only for inboxes that keep them (InboxOperations).
  std::optional<std::uint64_t> dead_letters_stored;
  std::optional<InboxCommitMetrics> inbox_commits;

  bool ready = false;  // what readiness() says
};

}  // namespace allthings::webhooks
