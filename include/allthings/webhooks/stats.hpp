#pragma once

#include <array>
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

}  // namespace allthings::webhooks
