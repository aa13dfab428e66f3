#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "../../inbox.hpp"

namespace allthings::webhooks::detail {

// The deliveries an inbox holds for its workers: those due now in arrival order, and retries
// due later. Not synchronised itself: the owning inbox guards it with its own mutex.
class DeliveryQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // A worker that finds nothing due while events are flowing waits this long on a timer
  // before it sleeps until woken, and nobody needs to wake it meanwhile. Under load that turns
  // a futex wake-up and context switch per event (as costly as the rest of the hand-off) into
  // one timer wake-up per linger, for at most this much more dispatch latency.
  static constexpr std::chrono::microseconds linger{1000};

  // True when the owner must wake a worker: the queue had nothing due and no worker lingers.
  // A worker that takes a delivery and sees more wakes the next one itself (wait_next).
  bool push(Delivery delivery) {
    last_push_ = Clock::now();
    delivery.due = last_push_;
    const bool was_empty = ready_.empty();
    ready_.push_back(std::move(delivery));
    return was_empty && lingering_ == 0;
  }

  void schedule(Clock::time_point due, Delivery delivery) {
    delivery.due = due;
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
    bool lingered = false;
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
        // Pass the baton: more work is waiting and no lingering worker will come for it.
        if (!ready_.empty() && lingering_ == 0) wake_up.notify_one();
        return delivery;
      }
      if (now >= give_up) return std::nullopt;
      auto wake = give_up;
      if (!scheduled_.empty() && scheduled_.begin()->first < wake) {
        wake = scheduled_.begin()->first;
      }
      if (!lingered && now - last_push_ < linger) {
        lingered = true;
        ++lingering_;
        wake_up.wait_until(lock, std::min(wake, now + linger));
        --lingering_;
        continue;
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
  Clock::time_point last_push_;
  std::size_t lingering_ = 0;  // workers in their linger wait
};

}  // namespace allthings::webhooks::detail
