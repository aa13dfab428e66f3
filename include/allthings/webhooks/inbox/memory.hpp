#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "../detail/queue/id_memory.hpp"
#include "../detail/queue/local_queue.hpp"
#include "../inbox.hpp"
#include "../options.hpp"

namespace allthings::webhooks {

// The default inbox: a bounded queue and a bounded, time-limited id memory, all in this
// process. Fast, but events acknowledged and not yet processed are lost if the process dies;
// SqliteInbox is the durable alternative. Sized by the receiver's queue_capacity,
// dedupe_window and dedupe_capacity.
class MemoryInbox final : public Inbox {
 public:
  void attach(const Options& options) override {
    std::lock_guard<std::mutex> lock(ids_mutex_);
    if (attached_) throw std::logic_error("MemoryInbox: already attached to a receiver");
    queue_capacity_ = options.queue_capacity;
    dedupe_window_ = options.dedupe_window;
    dedupe_capacity_ = options.dedupe_capacity;
    clock_ = options.clock;
    attached_ = true;
  }

  Acceptance accept(std::shared_ptr<const EventRecord> record) override {
    const auto key = detail::IdMemory::key_of(record->id);  // hashed before taking a lock
    // The id memory's lock is held throughout, so a concurrent second delivery of the id waits
    // and then sees it; the queue's lock (which workers take twice per event) only for the push.
    std::lock_guard<std::mutex> ids_lock(ids_mutex_);
    if (!attached_) throw std::logic_error("MemoryInbox: accept() before attach()");
    const auto now = clock_();
    forget_expired(now);
    const auto last_seen = ids_.last_seen(key);
    if (last_seen && *last_seen + dedupe_window_ > now) return Acceptance::duplicate;
    switch (queue_.add(Delivery{std::move(record), 1, {}}, queue_capacity_)) {
      case detail::LocalQueue::Added::full: return Acceptance::full;
      case detail::LocalQueue::Added::closed: return Acceptance::unavailable;
      case detail::LocalQueue::Added::held_already:  // not with Ids::any_number
      case detail::LocalQueue::Added::queued: break;
    }
    if (!last_seen) {
      while (ids_.size() >= dedupe_capacity_) ids_.forget_oldest();
    }
    ids_.remember(key, now);
    return Acceptance::accepted;
  }

  std::optional<Delivery> next(std::chrono::milliseconds wait) override {
    return queue_.next(wait);
  }

  void complete(const Delivery& delivery) override { queue_.finish(*delivery.record); }

  // Reported through on_error; nothing here outlives the process anyway.
  void dead_letter(const Delivery& delivery, const std::string& /*reason*/) override {
    queue_.finish(*delivery.record);
  }

  void retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                   std::chrono::milliseconds delay) override {
    queue_.retry_later(delivery, std::move(failed_handlers), delay);
  }

  std::size_t depth() const override { return queue_.depth(); }

  void close() override { queue_.close(); }

  std::vector<std::shared_ptr<const EventRecord>> take_unfinished() override {
    return queue_.take_unfinished();
  }

  // Ids currently remembered for dedupe (for tests and stats).
  std::size_t remembered_ids() const {
    std::lock_guard<std::mutex> lock(ids_mutex_);
    return ids_.size();
  }

 private:
  // Caller holds ids_mutex_.
  void forget_expired(std::chrono::system_clock::time_point now) {
    for (auto oldest = ids_.oldest(); oldest && *oldest + dedupe_window_ <= now;
         oldest = ids_.oldest()) {
      ids_.forget_oldest();
    }
  }

  mutable std::mutex ids_mutex_;  // taken before the queue's lock when both are needed
  detail::IdMemory ids_;
  bool attached_ = false;
  std::size_t queue_capacity_ = 0;
  std::chrono::seconds dedupe_window_{};
  std::size_t dedupe_capacity_ = 0;
  Clock clock_;

  detail::LocalQueue queue_{detail::LocalQueue::Ids::any_number};
};

}  // namespace allthings::webhooks
