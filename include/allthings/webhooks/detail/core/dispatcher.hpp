#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../../handlers.hpp"
#include "../../inbox.hpp"
#include "../process/thread_name.hpp"
#include "handler_registry.hpp"
#include "reporter.hpp"

namespace allthings::webhooks::detail {

// Runs queued events on worker threads: every matching handler, retries with exponential
// back-off for the handlers that threw, dead letters after max_attempts, and per-key
// serialization. Knows nothing of HTTP.
class Dispatcher : public std::enable_shared_from_this<Dispatcher> {
 public:
  struct Settings {
    std::size_t workers = 4;
    int max_attempts = 5;
    std::chrono::milliseconds retry_base_delay{1000};
    std::chrono::milliseconds retry_max_delay{std::chrono::minutes(5)};
    std::function<std::string(const Event&)> serialize_by;
  };

  Dispatcher(Settings settings, std::shared_ptr<Inbox> inbox,
             std::shared_ptr<HandlerRegistry> registry, std::shared_ptr<const Reporter> reporter)
      : settings_(std::move(settings)),
        inbox_(std::move(inbox)),
        registry_(std::move(registry)),
        reporter_(std::move(reporter)) {}

  void start() {
    std::lock_guard<std::mutex> lock(workers_mutex_);
    if (!threads_.empty()) return;
    auto self = shared_from_this();  // workers keep the dispatcher alive, even if detached
    for (std::size_t i = 0; i < settings_.workers; ++i) {
      threads_.emplace_back([self] {
        name_this_thread("aw-worker");
        self->work();
      });
    }
  }

  bool started() const {
    std::lock_guard<std::mutex> lock(workers_mutex_);
    return !threads_.empty() || running_workers_ > 0;
  }

  // Lets queued and running events finish until `deadline`, then stops the workers. Workers
  // still inside a handler at the deadline are detached and finish on their own. Returns the
  // events not finished, for the caller to report; a durable inbox keeps them and returns none.
  std::vector<std::shared_ptr<const EventRecord>> stop(
      std::chrono::steady_clock::time_point deadline) {
    while (inbox_->depth() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    quitting_ = true;
    inbox_->close();

    std::vector<std::thread> threads;
    bool all_returned = false;
    {
      std::unique_lock<std::mutex> lock(workers_mutex_);
      threads.swap(threads_);
      all_returned =
          workers_done_.wait_until(lock, deadline, [&] { return running_workers_ == 0; });
      // Past the deadline, a worker outside a handler still returns at once (close() woke it):
      // wait for those, so that only workers stuck in a handler are detached. A detached worker
      // keeps the inbox alive, and a SqliteInbox holds its file's lock until it dies.
      while (!all_returned && running_workers_ > workers_in_handlers_.load()) {
        workers_done_.wait_for(lock, std::chrono::milliseconds(5));
        all_returned = running_workers_ == 0;
      }
    }
    for (auto& thread : threads) {
      if (all_returned) {
        thread.join();
      } else {
        thread.detach();  // some are stuck in a handler; `self` keeps what they touch alive
      }
    }
    // Parked lane members were handed out by the inbox too, so the inbox knows them all.
    return inbox_->take_unfinished();
  }

  // Delay before attempt `attempt + 1`: base * 2^(attempt - 1), capped. Never doubles past
  // the cap, so no attempt count overflows it.
  static std::chrono::milliseconds backoff(const Settings& settings, int attempt) {
    auto delay = settings.retry_base_delay;
    for (int i = 1; i < attempt && delay < settings.retry_max_delay; ++i) {
      delay = delay > settings.retry_max_delay / 2 ? settings.retry_max_delay : delay * 2;
    }
    return std::min(delay, settings.retry_max_delay);
  }

 private:
  enum class Outcome { finished, retry_scheduled };

  // A serialization key's queue: `owner` runs (or awaits its retry); the rest wait in order.
  struct Lane {
    std::string owner;  // event id
    std::deque<Delivery> waiting;
  };

  void work() {
    {
      std::lock_guard<std::mutex> lock(workers_mutex_);
      ++running_workers_;
    }
    while (!quitting_) {
      try {
        if (settings_.serialize_by) {
          take_serialized();
        } else if (auto delivery = inbox_->next(claim_wait)) {
          run(*delivery);
        }
      } catch (...) {
        // The inbox failed to hand out an event (or memory ran out): report, pause so a
        // broken inbox does not spin the worker, and try again. Nothing was taken, so nothing
        // is lost.
        reporter_->report(Error{ErrorKind::inbox_failed, 0, "inbox failed to hand out an event"});
        std::this_thread::sleep_for(inbox_failure_pause);
      }
    }
    std::lock_guard<std::mutex> lock(workers_mutex_);
    --running_workers_;
    workers_done_.notify_all();
  }

  std::string lane_key(const Delivery& delivery) const {
    if (!settings_.serialize_by) return {};
    try {
      return settings_.serialize_by(Event(delivery.record, delivery.attempt));
    } catch (...) {
      return {};  // a key function that fails must not lose the event
    }
  }

  // Taking an event and entering its lane is one step under claim_mutex_, so lanes see events
  // in the order the inbox hands them out, which is arrival order.
  void take_serialized() {
    std::string key;
    std::optional<Delivery> delivery;
    {
      std::lock_guard<std::mutex> claim(claim_mutex_);
      delivery = inbox_->next(claim_wait);
      if (!delivery) return;
      key = lane_key(*delivery);
      if (!key.empty() && !enter_lane(key, *delivery)) return;  // parked behind its key
    }
    if (key.empty()) {
      run(*delivery);
    } else {
      run_lane(key, std::move(*delivery));
    }
  }

  // True when the delivery may run now; otherwise it waits in its lane.
  bool enter_lane(const std::string& key, Delivery& delivery) {
    std::lock_guard<std::mutex> lock(lanes_mutex_);
    Lane& lane = lanes_[key];
    if (!lane.owner.empty() && lane.owner != delivery.record->id) {
      lane.waiting.push_back(std::move(delivery));
      return false;
    }
    lane.owner = delivery.record->id;
    return true;
  }

  // Runs the delivery, then whatever waits behind it, until the lane is empty or its head
  // awaits a retry (which comes back through the inbox and finds the lane still its own).
  void run_lane(const std::string& key, Delivery delivery) {
    for (;;) {
      const Outcome outcome = run(delivery);
      std::lock_guard<std::mutex> lock(lanes_mutex_);
      if (outcome == Outcome::retry_scheduled) return;
      const auto lane = lanes_.find(key);
      if (lane->second.waiting.empty()) {
        lanes_.erase(lane);
        return;
      }
      delivery = std::move(lane->second.waiting.front());
      lane->second.waiting.pop_front();
      lane->second.owner = delivery.record->id;
    }
  }

  // What became of one attempt.
  enum class Result { done, retry, dead_letter };

  // Runs an attempt and measures it: its queue wait, its handlers' time, its outcome under
  // the event's name label. The figures are counted before the inbox hears the outcome, so
  // that whoever sees the event finished sees it counted.
  Outcome run(const Delivery& delivery) {
    const InHandlers in_handlers(workers_in_handlers_);
    auto& counters = reporter_->counters();
    const auto started = std::chrono::steady_clock::now();
    if (delivery.due != std::chrono::steady_clock::time_point{}) {
      counters.queue_wait.observe(started - delivery.due);
    }
    std::vector<std::size_t> failed;
    const bool succeeded = run_handlers(delivery, failed);
    const auto elapsed = std::chrono::steady_clock::now() - started;

    const Result result = succeeded                                   ? Result::done
                          : delivery.attempt < settings_.max_attempts ? Result::retry
                                                                      : Result::dead_letter;
    auto& slot = counters.events.slot_for(delivery.record->name);
    slot.handler_duration.observe(elapsed);
    Counters::bump(result == Result::done    ? slot.done
                   : result == Result::retry ? slot.retries
                                             : slot.dead_lettered);
    log_outcome(delivery, result, elapsed);
    switch (result) {
      case Result::done:
        Counters::bump(counters.delivered);
        record_outcome(delivery, "complete", [&] { inbox_->complete(delivery); });
        return Outcome::finished;
      case Result::retry:
        if (record_outcome(delivery, "retry_later", [&] {
              inbox_->retry_later(delivery, std::move(failed),
                                  backoff(settings_, delivery.attempt));
            })) {
          return Outcome::retry_scheduled;
        }
        return Outcome::finished;  // its lane moves on; the inbox still holds the event
      case Result::dead_letter: dead_letter(delivery); return Outcome::finished;
    }
    return Outcome::finished;
  }

  // Runs the handlers the attempt is for; false, with the ones that threw in `failed`, when
  // any did.
  bool run_handlers(const Delivery& delivery, std::vector<std::size_t>& failed) {
    const auto table = registry_->snapshot();
    const Event event(delivery.record, delivery.attempt);

    std::vector<std::size_t> targets = delivery.pending_handlers;
    const bool first_attempt = targets.empty();
    if (first_attempt) targets = table->matching(event.name());

    if (first_attempt && targets.empty()) {
      Counters::bump(reporter_->counters().unhandled);
      if (table->unhandled && !call(table->unhandled, event)) failed.push_back(unhandled_index);
      return failed.empty();
    }
    for (const std::size_t index : targets) {
      const EventHandler* handler = index == unhandled_index        ? &table->unhandled
                                    : index < table->entries.size() ? &table->entries[index].handler
                                                                    : nullptr;
      if (handler != nullptr && *handler && !call(*handler, event)) failed.push_back(index);
    }
    return failed.empty();
  }

  void dead_letter(const Delivery& delivery) {
    const std::string reason =
        "handlers still failing after " + std::to_string(delivery.attempt) + " attempts";
    record_outcome(delivery, "dead_letter", [&] { inbox_->dead_letter(delivery, reason); });
    reporter_->report(Error{ErrorKind::dead_lettered, 0, reason, delivery.record->id,
                            delivery.record->name, delivery.attempt});
  }

  // Finished attempts at debug, others at info (a dead letter is also reported as an Error).
  void log_outcome(const Delivery& delivery, Result result,
                   std::chrono::steady_clock::duration elapsed) const {
    const auto& logger = reporter_->logger();
    const LogLevel level = result == Result::done ? LogLevel::debug : LogLevel::info;
    if (!logger.enabled(level)) return;
    static constexpr const char* outcomes[] = {"done", "retry", "dead_letter"};
    logger.log(level, "event attempt finished",
               {{"event.id", delivery.record->id},
                {"event.name", delivery.record->name},
                {"outcome", outcomes[static_cast<int>(result)]},
                {"duration", std::chrono::duration<double>(elapsed).count()},
                {"attempt", delivery.attempt}});
  }

  // Tells the inbox how a delivery ended. An inbox that throws is reported, and the event stays
  // with it as it was (unfinished: a durable inbox runs it again after a restart, and stop()
  // reports it as undelivered); the worker carries on. False when it threw.
  template <class F>
  bool record_outcome(const Delivery& delivery, const char* operation, F&& tell_inbox) const {
    try {
      tell_inbox();
      return true;
    } catch (const std::exception& e) {
      report_inbox_failure(delivery, operation, e.what());
    } catch (...) {
      report_inbox_failure(delivery, operation, "a non-standard exception");
    }
    return false;
  }

  void report_inbox_failure(const Delivery& delivery, const char* operation,
                            const char* what) const {
    reporter_->report(Error{ErrorKind::inbox_failed, 0,
                            std::string("inbox ") + operation + "() failed: " + what,
                            delivery.record->id, delivery.record->name, delivery.attempt});
  }

  // Runs one handler; reports and returns false when it throws.
  bool call(const EventHandler& handler, const Event& event) const {
    std::string message;
    try {
      handler(event);
      return true;
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
      message = "handler threw a non-standard exception";
    }
    reporter_->report(
        Error{ErrorKind::handler_failed, 0, message, event.id(), event.name(), event.attempt()});
    return false;
  }

  // Counts a worker as busy with an event (and so possibly stuck) while it lives.
  class InHandlers {
   public:
    explicit InHandlers(std::atomic<std::size_t>& count) : count_(count) { ++count_; }
    ~InHandlers() { --count_; }
    InHandlers(const InHandlers&) = delete;
    InHandlers& operator=(const InHandlers&) = delete;

   private:
    std::atomic<std::size_t>& count_;
  };

  static constexpr std::chrono::milliseconds claim_wait{200};
  static constexpr std::chrono::milliseconds inbox_failure_pause{100};

  // Index that stands for on_unhandled in a retry's handler list.
  static constexpr std::size_t unhandled_index = static_cast<std::size_t>(-1);

  Settings settings_;
  std::shared_ptr<Inbox> inbox_;
  std::shared_ptr<HandlerRegistry> registry_;
  std::shared_ptr<const Reporter> reporter_;

  std::atomic<bool> quitting_{false};
  mutable std::mutex workers_mutex_;
  std::condition_variable workers_done_;
  std::vector<std::thread> threads_;
  std::size_t running_workers_ = 0;
  std::atomic<std::size_t> workers_in_handlers_{0};

  std::mutex claim_mutex_;
  std::mutex lanes_mutex_;
  std::unordered_map<std::string, Lane> lanes_;
};

}  // namespace allthings::webhooks::detail
