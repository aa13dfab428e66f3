#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "../../error.hpp"
#include "../../stats.hpp"

namespace allthings::webhooks::detail {

// Lock-free counters behind Stats; every field is independent, so relaxed order suffices.
struct Counters {
  std::atomic<std::uint64_t> received{0}, accepted{0}, duplicates{0}, delivered{0}, unhandled{0},
      rejected{0};
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

}  // namespace allthings::webhooks::detail
