#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "error.hpp"

namespace allthings::webhooks {

// A snapshot of the endpoint's counters since construction.
struct Stats {
  std::uint64_t received = 0;    // POSTs on the webhook path
  std::uint64_t rejected = 0;    // requests answered with a 4xx or 5xx
  std::uint64_t accepted = 0;    // new events acknowledged and queued
  std::uint64_t duplicates = 0;  // acknowledged, dropped as already seen
  std::uint64_t delivered = 0;   // events whose handlers all succeeded (or on_unhandled ran)
  std::uint64_t unhandled = 0;   // events no handler matched
  std::uint64_t handler_failures = 0;  // handler calls that threw
  std::uint64_t dead_letters = 0;      // events given up after max_attempts
  std::uint64_t queue_depth = 0;       // events accepted but not finished, at snapshot time
  std::array<std::uint64_t, error_kind_count> errors{};  // every reported Error, by kind

  std::uint64_t errors_of(ErrorKind kind) const { return errors[static_cast<int>(kind)]; }
};

namespace detail {

// Lock-free counters behind Stats; every field is independent, so relaxed order suffices.
struct Counters {
  std::atomic<std::uint64_t> received{0}, accepted{0}, duplicates{0}, delivered{0},
      unhandled{0}, rejected{0};
  std::array<std::atomic<std::uint64_t>, error_kind_count> errors{};

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

}  // namespace detail
}  // namespace allthings::webhooks
