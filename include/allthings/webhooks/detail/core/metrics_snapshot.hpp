#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "../../error.hpp"
#include "../../health.hpp"
#include "../../inbox.hpp"
#include "../../inbox/operations.hpp"
#include "../../metrics.hpp"
#include "../../options.hpp"
#include "../../version.hpp"
#include "counters.hpp"

namespace allthings::webhooks::detail {

// Reads the counters into the public Metrics snapshot. Runs per scrape, never per request.
inline Metrics collect_metrics(const Counters& counters, Inbox& inbox, const Options& options,
                               Readiness readiness) {
  Metrics m;
  m.version = ALLTHINGS_WEBHOOKS_VERSION_STRING;

  const auto& requests = counters.requests;
  auto add_row = [&](std::size_t row, std::string outcome, bool even_if_zero) {
    for (std::size_t column = 0; column < RequestTally::status_columns; ++column) {
      const auto count = requests.at(row, column);
      const bool usual = column == 0;  // 200: how accepted and duplicate requests are answered
      if (count == 0 && !(even_if_zero && usual)) continue;
      const int status =
          column < RequestTally::statuses.size() ? RequestTally::statuses[column] : 0;
      m.requests.push_back({outcome, status, count});
    }
  };
  add_row(RequestTally::accepted, "accepted", true);
  add_row(RequestTally::duplicate, "duplicate", true);
  for (int k = 0; k < static_cast<int>(ErrorKind::handler_failed); ++k) {
    add_row(RequestTally::row_of(static_cast<ErrorKind>(k)), to_string(static_cast<ErrorKind>(k)),
            false);
  }

  auto errors_of = [&](ErrorKind kind) {
    return counters.errors[static_cast<int>(kind)].load(std::memory_order_relaxed);
  };
  m.duplicates = counters.duplicates.load(std::memory_order_relaxed);
  std::size_t unauthorized = 0;
  while (RequestTally::statuses[unauthorized] != 401) ++unauthorized;
  m.signature_failures = {
      {"missing", requests.at(RequestTally::row_of(ErrorKind::unsigned_request), unauthorized)},
      {"malformed", errors_of(ErrorKind::malformed_signature)},
      {"mismatch", errors_of(ErrorKind::signature_mismatch)}};
  m.timestamp_failures = {{"missing", errors_of(ErrorKind::missing_timestamp)},
                          {"malformed", errors_of(ErrorKind::malformed_timestamp)},
                          {"stale", errors_of(ErrorKind::stale_timestamp)},
                          {"future", errors_of(ErrorKind::future_timestamp)}};
  for (int k = 0; k < error_kind_count; ++k) {
    m.errors.emplace_back(to_string(static_cast<ErrorKind>(k)),
                          errors_of(static_cast<ErrorKind>(k)));
  }
  m.acknowledgement = counters.acknowledgement.snapshot(seconds_per_ns);

  m.queue_depth = inbox.depth();
  m.queue_capacity = options.queue_capacity;
  m.queue_wait = counters.queue_wait.snapshot(seconds_per_ns);
  m.events = counters.events.snapshot();
  m.unhandled = counters.unhandled.load(std::memory_order_relaxed);
  m.handler_failures = errors_of(ErrorKind::handler_failed);
  m.dead_letters = errors_of(ErrorKind::dead_lettered);
  if (auto* operations = dynamic_cast<InboxOperations*>(&inbox)) {
    try {
      m.dead_letters_stored = operations->count(StoredState::dead_letter);
    } catch (...) {
      // A store that cannot be read now leaves the figure out; readiness tells the rest.
    }
  }
  m.inbox_commits = inbox.commit_metrics();
  m.ready = readiness.ready;
  return m;
}

}  // namespace allthings::webhooks::detail
