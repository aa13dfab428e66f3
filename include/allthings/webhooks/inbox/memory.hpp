#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../detail/queue/delivery_queue.hpp"
#include "../detail/queue/id_memory.hpp"
#include "../inbox.hpp"
#include "../options.hpp"

namespace allthings::webhooks {

// The default inbox: a bounded queue and a bounded, time-limited id memory, all in this
// process. Fast, but events acknowledged and not yet processed are lost if the process dies;
// SqliteInbox is the durable alternative.
class MemoryInbox final : public Inbox {
 public:
  struct Limits {
    std::size_t queue_capacity = 10000;
    std::chrono::seconds dedupe_window{std::chrono::hours(24 * 8)};
    std::size_t dedupe_capacity = 1000000;
    Clock clock = [] { return std::chrono::system_clock::now(); };
  };

  explicit MemoryInbox(Limits limits) : limits_(std::move(limits)) {
    if (limits_.queue_capacity == 0) throw std::invalid_argument("queue_capacity must be > 0");
    if (limits_.dedupe_capacity == 0) throw std::invalid_argument("dedupe_capacity must be > 0");
    if (!limits_.clock) throw std::invalid_argument("clock must be set");
  }

  static Limits limits_from(const Options& options) {
    return {options.queue_capacity, options.dedupe_window, options.dedupe_capacity,
            options.clock};
  }

  Acceptance accept(std::shared_ptr<const EventRecord> record) override {
    const auto key = detail::IdMemory::key_of(record->id);  // hashed before taking a lock
    const auto now = limits_.clock();
    // The id memory's lock is held throughout, so a concurrent second delivery of the id waits
    // and then sees it; the queue's lock (which workers take twice per event) only for the push.
    std::lock_guard<std::mutex> ids_lock(ids_mutex_);
    forget_expired(now);
    const auto last_seen = ids_.last_seen(key);
    if (last_seen && *last_seen + limits_.dedupe_window > now) return Acceptance::duplicate;
    if (!enqueue(std::move(record))) return Acceptance::full;

    if (!last_seen) {
      while (ids_.size() >= limits_.dedupe_capacity) ids_.forget_oldest();
    }
    ids_.remember(key, now);
    return Acceptance::accepted;
  }

  std::optional<Delivery> next(std::chrono::milliseconds wait) override {
    std::unique_lock<std::mutex> lock(mutex_);
    auto delivery = queue_.wait_next(lock, ready_cv_, wait, [this] { return closed_; });
    if (delivery) handed_out_.emplace(delivery->record.get(), delivery->record);
    return delivery;
  }

  void complete(const Delivery& delivery) override { finish(delivery); }

  void dead_letter(const Delivery& delivery, const std::string& /*reason*/) override {
    finish(delivery);  // reported through on_error; nothing here outlives the process anyway
  }

  void retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                   std::chrono::milliseconds delay) override {
    std::lock_guard<std::mutex> lock(mutex_);
    handed_out_.erase(delivery.record.get());
    queue_.schedule(SteadyClock::now() + delay,
                       Delivery{delivery.record, delivery.attempt + 1, std::move(failed_handlers)});
    ready_cv_.notify_all();  // a waiter may now have to wake earlier
  }

  std::size_t depth() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return unfinished_;
  }

  void close() override {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    ready_cv_.notify_all();
  }

  std::vector<std::shared_ptr<const EventRecord>> take_unfinished() override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::shared_ptr<const EventRecord>> lost;
    for (auto& delivery : queue_.take_all()) lost.push_back(std::move(delivery.record));
    for (auto& [key, record] : handed_out_) lost.push_back(std::move(record));
    handed_out_.clear();
    unfinished_ = 0;
    return lost;
  }

  // Ids currently remembered for dedupe (for tests and stats).
  std::size_t remembered_ids() const {
    std::lock_guard<std::mutex> lock(ids_mutex_);
    return ids_.size();
  }

 private:
  using SteadyClock = std::chrono::steady_clock;
  using WallTime = std::chrono::system_clock::time_point;

  // Queues the event if there is room; false when the inbox is full. The caller holds
  // ids_mutex_.
  bool enqueue(std::shared_ptr<const EventRecord> record) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (unfinished_ >= limits_.queue_capacity) return false;
    ++unfinished_;
    if (queue_.push(Delivery{std::move(record), 1, {}})) ready_cv_.notify_one();
    return true;
  }

  void finish(const Delivery& delivery) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (handed_out_.erase(delivery.record.get()) > 0) --unfinished_;
  }

  // Caller holds ids_mutex_.
  void forget_expired(WallTime now) {
    for (auto oldest = ids_.oldest(); oldest && *oldest + limits_.dedupe_window <= now;
         oldest = ids_.oldest()) {
      ids_.forget_oldest();
    }
  }

  Limits limits_;

  mutable std::mutex ids_mutex_;  // taken before mutex_ when both are needed
  detail::IdMemory ids_;

  mutable std::mutex mutex_;  // the rest
  std::condition_variable ready_cv_;
  detail::DeliveryQueue queue_;
  std::unordered_map<const EventRecord*, std::shared_ptr<const EventRecord>> handed_out_;
  std::size_t unfinished_ = 0;
  bool closed_ = false;
};

}  // namespace allthings::webhooks
