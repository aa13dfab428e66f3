#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "../../metrics.hpp"

namespace allthings::webhooks::detail {

// Bucket bounds of every duration histogram, in nanoseconds: 5 µs to 10 s, so acknowledgements
// well under a millisecond still fall into distinct buckets.
inline constexpr std::array<std::uint64_t, 20> duration_bounds_ns = {
    5'000,       10'000,        25'000,        50'000,        100'000,
    250'000,     500'000,       1'000'000,     2'500'000,     5'000'000,
    10'000'000,  25'000'000,    50'000'000,    100'000'000,   250'000'000,
    500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

// Bucket bounds of event-count histograms (events per commit).
inline constexpr std::array<std::uint64_t, 11> count_bounds = {1,  2,   4,   8,   16,  32,
                                                               64, 128, 256, 512, 1024};

// A Prometheus histogram made of relaxed atomic counters: observing is a bucket search over
// a few integers and two fetch_adds, with no lock and no allocation.
template <std::size_t N>
class AtomicHistogram {
 public:
  explicit AtomicHistogram(const std::array<std::uint64_t, N>& bounds) : bounds_(&bounds) {}

  void observe(std::uint64_t value) {
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  void observe(std::chrono::steady_clock::duration elapsed) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
    observe(static_cast<std::uint64_t>(ns > 0 ? ns : 0));
  }

  // `unit` converts a bound or the sum to the exported unit (1e-9 for nanoseconds to seconds).
  HistogramSnapshot snapshot(double unit) const {
    HistogramSnapshot out;
    out.upper_bounds.reserve(N);
    out.cumulative_counts.reserve(N);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < N; ++i) {
      running += counts_[i].load(std::memory_order_relaxed);
      out.upper_bounds.push_back(static_cast<double>((*bounds_)[i]) * unit);
      out.cumulative_counts.push_back(running);
    }
    out.count = running + counts_[N].load(std::memory_order_relaxed);
    out.sum = static_cast<double>(sum_.load(std::memory_order_relaxed)) * unit;
    return out;
  }

 private:
  const std::array<std::uint64_t, N>* bounds_;
  std::array<std::atomic<std::uint64_t>, N + 1> counts_{};  // the last one is +Inf
  std::atomic<std::uint64_t> sum_{0};
};

using DurationHistogram = AtomicHistogram<duration_bounds_ns.size()>;
using CountHistogram = AtomicHistogram<count_bounds.size()>;

inline constexpr double seconds_per_ns = 1e-9;

}  // namespace allthings::webhooks::detail
