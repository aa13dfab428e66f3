#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../../inbox.hpp"
#include "delivery_queue.hpp"

namespace allthings::webhooks::detail {

// What every inbox that runs its events in this process shares: the events it holds (queued,
// running or awaiting a retry) until they finish, their deliveries due now and later, and the
// workers waiting in next(). Thread-safe.
class LocalQueue {
 public:
  using SteadyClock = std::chrono::steady_clock;

  // Whether an id may be held twice at once. An inbox that dedupes by a store of its own holds
  // each stored event once; MemoryInbox may accept an id again once its dedupe window passed,
  // even while the earlier event of that id is still running.
  enum class Ids { once, any_number };

  explicit LocalQueue(Ids ids) : ids_(ids) {}

  enum class Added { queued, held_already, full, closed };

  // Holds the delivery's event and queues it, due now or at `due`; refused while `capacity`
  // events are held, or (Ids::once) an event with its id is, and once take_unfinished() gave
  // the unfinished events away (nobody would run or report it).
  Added add(Delivery delivery, std::size_t capacity,
            std::optional<SteadyClock::time_point> due = std::nullopt) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (given_away_) return Added::closed;
    if (held_.size() >= capacity) return Added::full;
    if (ids_ == Ids::once && held_.count(delivery.record->id) > 0) return Added::held_already;
    // The key views the id inside the record the entry keeps alive.
    held_.emplace(delivery.record->id, delivery.record);
    if (due) {
      queue_.schedule(*due, std::move(delivery));
      ready_cv_.notify_all();  // a waiter may now have to wake earlier
    } else if (queue_.push(std::move(delivery))) {
      ready_cv_.notify_one();
    }
    return Added::queued;
  }

  // The next due delivery, waiting up to `wait`; nullopt on time-out or once closed.
  std::optional<Delivery> next(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mutex_);
    return queue_.wait_next(lock, ready_cv_, wait, [this] { return closed_; });
  }

  // Lets go of the event; false when it was not held (taken by take_unfinished, say).
  bool finish(const EventRecord& record) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto entry = find(record);
    if (entry == held_.end()) return false;
    held_.erase(entry);
    return true;
  }

  // Queues the delivery again after `delay`, with attempt + 1 and `failed_handlers`; false
  // (and nothing queued) when the event is no longer held.
  bool retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                   std::chrono::milliseconds delay) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (find(*delivery.record) == held_.end()) return false;
    queue_.schedule(SteadyClock::now() + delay,
                    Delivery{delivery.record, delivery.attempt + 1, std::move(failed_handlers)});
    ready_cv_.notify_all();  // a waiter may now have to wake earlier
    return true;
  }

  bool holds(const EventRecord& record) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return find(record) != held_.end();
  }

  // Events held: waiting, handed out, or awaiting a retry.
  std::size_t depth() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_.size();
  }

  // Wakes every waiter in next(); after it next() returns nullopt at once.
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    ready_cv_.notify_all();
  }

  // Lets go of every event held and returns them: the queued ones in queue order, then those
  // handed out.
  std::vector<std::shared_ptr<const EventRecord>> take_unfinished() {
    std::lock_guard<std::mutex> lock(mutex_);
    given_away_ = true;
    std::vector<std::shared_ptr<const EventRecord>> unfinished;
    unfinished.reserve(held_.size());
    for (auto& delivery : queue_.take_all()) {
      held_.erase(find(*delivery.record));
      unfinished.push_back(std::move(delivery.record));
    }
    for (auto& entry : held_) unfinished.push_back(std::move(entry.second));
    held_.clear();
    return unfinished;
  }

 private:
  using Held = std::unordered_multimap<std::string_view, std::shared_ptr<const EventRecord>>;

  // The entry holding this very record. Caller holds mutex_.
  Held::const_iterator find(const EventRecord& record) const {
    const auto [first, last] = held_.equal_range(record.id);
    for (auto entry = first; entry != last; ++entry) {
      if (entry->second.get() == &record) return entry;
    }
    return held_.end();
  }

  const Ids ids_;
  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;
  DeliveryQueue queue_;
  Held held_;
  bool closed_ = false;
  bool given_away_ = false;
};

}  // namespace allthings::webhooks::detail
