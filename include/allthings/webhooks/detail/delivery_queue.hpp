#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "../inbox.hpp"

namespace allthings::webhooks::detail {

// The deliveries an inbox holds for its workers: those due now in arrival order, and retries
// due later. Not synchronised itself: the owning inbox guards it with its own mutex.
class DeliveryQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // True when the queue had nothing due before: only then must the owner wake a worker, since
  // a worker that takes a delivery and sees more wakes the next one itself (wait_next). One
  // wake-up per event would cost as much as the rest of the hand-off.
  bool push(Delivery delivery) {
    const bool was_empty = ready_.empty();
    ready_.push_back(std::move(delivery));
    return was_empty;
  }

  void schedule(Clock::time_point due, Delivery delivery) {
    scheduled_.emplace(due, std::move(delivery));
  }

  // The next due delivery, waiting on `wake_up` (whose mutex `lock` holds) for up to `wait`;
  // nullopt on time-out or as soon as `is_closed()` holds. Whoever pushes or schedules must
  // notify `wake_up`.
  template <class IsClosed>
  std::optional<Delivery> wait_next(std::unique_lock<std::mutex>& lock,
                                    std::condition_variable& wake_up,
                                    std::chrono::milliseconds wait, IsClosed is_closed) {
    const auto give_up = Clock::now() + wait;
    for (;;) {
      if (is_closed()) return std::nullopt;
      const auto now = Clock::now();
      while (!scheduled_.empty() && scheduled_.begin()->first <= now) {
        ready_.push_back(std::move(scheduled_.begin()->second));
        scheduled_.erase(scheduled_.begin());
      }
      if (!ready_.empty()) {
        Delivery delivery = std::move(ready_.front());
        ready_.pop_front();
        if (!ready_.empty()) wake_up.notify_one();  // pass the baton: more work is waiting
        return delivery;
      }
      if (now >= give_up) return std::nullopt;
      auto wake = give_up;
      if (!scheduled_.empty() && scheduled_.begin()->first < wake) {
        wake = scheduled_.begin()->first;
      }
      wake_up.wait_until(lock, wake);
    }
  }

  // Empties the queue, due or not.
  std::vector<Delivery> take_all() {
    std::vector<Delivery> all(std::make_move_iterator(ready_.begin()),
                              std::make_move_iterator(ready_.end()));
    for (auto& [due, delivery] : scheduled_) all.push_back(std::move(delivery));
    ready_.clear();
    scheduled_.clear();
    return all;
  }

 private:
  std::deque<Delivery> ready_;
  std::multimap<Clock::time_point, Delivery> scheduled_;
};

}  // namespace allthings::webhooks::detail
