#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "../../metrics.hpp"
#include "histogram.hpp"

namespace allthings::webhooks::detail {

// What workers count per event name. Names get a slot when a handler is registered for them
// by exact name; every other name shares the last slot, "other". The set of labels is thus
// bounded by the application's code, never by what senders send.
class EventTally {
 public:
  static constexpr std::size_t named_slots = 32;  // registered names beyond it count as "other"
  static constexpr std::size_t other = named_slots;

  struct Slot {
    std::atomic<std::uint64_t> done{0}, retries{0}, dead_lettered{0};
    DurationHistogram handler_duration{duration_bounds_ns};
  };

  // Gives `name` a slot of its own, if there is one left. Registration time only.
  void add_name(std::string_view name) {
    std::lock_guard<std::mutex> lock(names_mutex_);
    const auto count = named_.load(std::memory_order_relaxed);
    if (count == named_slots || find(name, count) != other) return;
    names_[count] = std::string(name);
    named_.store(count + 1, std::memory_order_release);  // publishes the name just written
  }

  // The slot of `name`: a few string compares on a worker, no lock.
  Slot& slot_for(std::string_view name) {
    return slots_[find(name, named_.load(std::memory_order_acquire))];
  }

  std::vector<EventMetrics> snapshot() const {
    const auto count = named_.load(std::memory_order_acquire);
    std::vector<EventMetrics> out;
    out.reserve(count + 1);
    for (std::size_t i = 0; i <= count; ++i) {
      const std::size_t index = i < count ? i : other;
      const Slot& slot = slots_[index];
      EventMetrics metrics;
      metrics.name = i < count ? names_[i] : "other";
      metrics.done = slot.done.load(std::memory_order_relaxed);
      metrics.retries = slot.retries.load(std::memory_order_relaxed);
      metrics.dead_lettered = slot.dead_lettered.load(std::memory_order_relaxed);
      metrics.handler_duration = slot.handler_duration.snapshot(seconds_per_ns);
      out.push_back(std::move(metrics));
    }
    return out;
  }

 private:
  std::size_t find(std::string_view name, std::size_t count) const {
    for (std::size_t i = 0; i < count; ++i) {
      if (names_[i] == name) return i;
    }
    return other;
  }

  std::mutex names_mutex_;                      // serializes add_name(); readers rely on `named_`
  std::array<std::string, named_slots> names_;  // written once each, before `named_` grows
  std::atomic<std::size_t> named_{0};
  std::array<Slot, named_slots + 1> slots_;
};

}  // namespace allthings::webhooks::detail
