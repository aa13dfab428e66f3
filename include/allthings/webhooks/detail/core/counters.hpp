#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../../error.hpp"
#include "../../stats.hpp"
#include "event_tally.hpp"
#include "histogram.hpp"

namespace allthings::webhooks::detail {

// Requests on the webhook path by outcome and HTTP status, in a fixed table: counting one is
// an index computation and a relaxed fetch_add.
class RequestTally {
 public:
  // The statuses a Receiver answers; anything else would count in the last column.
  static constexpr std::array<int, 8> statuses = {200, 400, 401, 405, 413, 415, 500, 503};
  static constexpr std::size_t status_columns = statuses.size() + 1;
  // Outcome rows: accepted, duplicate, then one per ErrorKind.
  static constexpr std::size_t accepted = 0, duplicate = 1;
  static constexpr std::size_t outcome_rows = 2 + error_kind_count;

  static constexpr std::size_t row_of(ErrorKind kind) { return 2 + static_cast<std::size_t>(kind); }

  void count(std::size_t row, int status) {
    std::size_t column = 0;
    while (column < statuses.size() && statuses[column] != status) ++column;
    counts_[row][column].fetch_add(1, std::memory_order_relaxed);
  }

  std::uint64_t at(std::size_t row, std::size_t column) const {
    return counts_[row][column].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::array<std::atomic<std::uint64_t>, status_columns>, outcome_rows> counts_{};
};

// Lock-free counters behind Stats and Metrics; every field is independent, so relaxed order
// suffices.
struct Counters {
  std::atomic<std::uint64_t> received{0}, accepted{0}, duplicates{0}, delivered{0}, unhandled{0},
      rejected{0};
  std::array<std::atomic<std::uint64_t>, error_kind_count> errors{};
  RequestTally requests;
  DurationHistogram acknowledgement{duration_bounds_ns};
  DurationHistogram queue_wait{duration_bounds_ns};
  EventTally events;

  static void bump(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  Stats snapshot(std::uint64_t queue_depth) const {
    Stats s;
    s.received = received.load(std::memory_order_relaxed);
    s.accepted = accepted.load(std::memory_order_relaxed);
    s.duplicates = duplicates.load(std::memory_order_relaxed);
    s.delivered = delivered.load(std::memory_order_relaxed);
    s.unhandled = unhandled.load(std::memory_order_relaxed);
    s.rejected = rejected.load(std::memory_order_relaxed);
    for (int k = 0; k < error_kind_count; ++k) {
      s.errors[k] = errors[k].load(std::memory_order_relaxed);
    }
    s.handler_failures = s.errors_of(ErrorKind::handler_failed);
    s.dead_letters = s.errors_of(ErrorKind::dead_lettered);
    s.queue_depth = queue_depth;
    return s;
  }
};

}  // namespace allthings::webhooks::detail
