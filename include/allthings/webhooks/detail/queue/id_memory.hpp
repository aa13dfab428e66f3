#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "../crypto/sha256.hpp"

namespace allthings::webhooks::detail {

// The event ids MemoryInbox remembers to drop duplicates, and in which order they were
// remembered. Not synchronised: the inbox guards it with its own mutex.
//
// An id is kept as a fixed-size key (the first 128 bits of its SHA-256) in one flat table, so
// remembering an id allocates nothing. A map of strings cost two heap allocations per id that
// lived for the whole window, interleaved with every request's short-lived ones; under load the
// allocator then took more time than the rest of accepting an event. Two ids share a key only
// by a SHA-256 collision in 128 bits.
class IdMemory {
 public:
  using WallTime = std::chrono::system_clock::time_point;

  struct Key {
    std::uint64_t high = 0, low = 0;
    bool operator==(const Key& other) const { return high == other.high && low == other.low; }
  };

  static Key key_of(std::string_view id) {
    const Sha256Digest digest = sha256(id);
    Key key;
    for (std::size_t i = 0; i < 8; ++i) {
      key.high = key.high << 8 | digest[i];
      key.low = key.low << 8 | digest[8 + i];
    }
    return key;
  }

  // When `key` was remembered last, if it is remembered.
  std::optional<WallTime> last_seen(const Key& key) const {
    const std::size_t slot = find(key);
    if (!slots_[slot].used) return std::nullopt;
    return slots_[slot].time;
  }

  // Remembers `key` at `now`, again if it already was.
  void remember(const Key& key, WallTime now) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    Slot& slot = slots_[find(key)];
    if (!slot.used) ++count_;
    slot = Slot{key, now, true};
    order_.emplace_back(key, now);
  }

  // When the oldest remembrance was made; nullopt when nothing is remembered.
  std::optional<WallTime> oldest() const {
    if (order_.empty()) return std::nullopt;
    return order_.front().second;
  }

  // Drops the oldest remembrance. The order holds one entry per remember(), so a key
  // remembered again has stale entries too; only its latest one (whose time the table still
  // holds) forgets the key. Entries leave in the order they came, so that one leaves last.
  void forget_oldest() {
    if (order_.empty()) return;
    const auto [key, time] = order_.front();
    order_.pop_front();
    const std::size_t slot = find(key);
    if (slots_[slot].used && slots_[slot].time == time) erase(slot);
  }

  std::size_t size() const { return count_; }

 private:
  struct Slot {
    Key key;
    WallTime time{};
    bool used = false;
  };

  static constexpr std::size_t initial_slots = 1024;

  std::size_t home(const Key& key) const { return key.high & (slots_.size() - 1); }

  // The slot holding `key`, or the empty slot where it would go. Linear probing in a table at
  // most half full, so an empty slot is always near.
  std::size_t find(const Key& key) const {
    const std::size_t mask = slots_.size() - 1;
    std::size_t slot = home(key);
    while (slots_[slot].used && !(slots_[slot].key == key)) slot = (slot + 1) & mask;
    return slot;
  }

  // Backward-shift deletion: moves later members of the probe run into the gap, so lookups
  // need no tombstones.
  void erase(std::size_t gap) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t next = (gap + 1) & mask; slots_[next].used; next = (next + 1) & mask) {
      const std::size_t wanted = home(slots_[next].key);
      // The member at `next` may fill the gap unless its home lies cyclically in (gap, next].
      const bool home_after_gap =
          gap <= next ? (gap < wanted && wanted <= next) : (gap < wanted || wanted <= next);
      if (home_after_gap) continue;
      slots_[gap] = slots_[next];
      gap = next;
    }
    slots_[gap].used = false;
    --count_;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.used) slots_[find(slot.key)] = slot;
    }
  }

  std::vector<Slot> slots_ = std::vector<Slot>(initial_slots);
  std::size_t count_ = 0;
  std::deque<std::pair<Key, WallTime>> order_;
};

}  // namespace allthings::webhooks::detail
