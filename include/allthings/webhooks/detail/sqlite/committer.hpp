#pragma once

// The durable inbox's writer: one thread that commits every accept (grouped: the accepts
// waiting at that moment share one transaction and one fsync) together with the outcomes
// workers logged meanwhile, and does the maintenance (pruning, picking up requeued dead
// letters). Callers of accept() wait for the commit; workers' outcomes go to the outcome log
// (see outcome_log.hpp) and are folded into the next commit.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../../inbox.hpp"
#include "../../inbox/operations.hpp"
#include "../../inbox/sqlite_settings.hpp"
#include "../../metrics.hpp"
#include "../core/histogram.hpp"
#include "../process/thread_name.hpp"
#include "../queue/local_queue.hpp"
#include "connection.hpp"
#include "outcome_log.hpp"
#include "schema.hpp"
#include "store.hpp"

namespace allthings::webhooks::detail {

class SqliteCommitter {
 public:
  // What the receiver decides, from its Options.
  struct Limits {
    std::size_t queue_capacity;
    std::chrono::seconds dedupe_window;
    Clock clock;
  };
  // Makes a record to run from an event as stored.
  using Rebuild = std::function<std::shared_ptr<const EventRecord>(const StoredEvent&)>;

  // Opens (or creates) the database and the outcome log next to it, and applies the outcomes
  // an earlier run logged and did not commit. Throws InboxStoreError naming the path and the
  // problem.
  SqliteCommitter(const std::string& path, const SqliteInboxSettings& settings)
      : path_(path),
        settings_(settings),
        store_(open_inbox_database(path_, {settings_.busy_timeout, settings_.max_size_bytes,
                                           settings_.check_integrity_on_open, true})),
        log_(OutcomeLog::base_for(path_)) {
    apply_logged_outcomes();
  }

  SqliteCommitter(const SqliteCommitter&) = delete;
  SqliteCommitter& operator=(const SqliteCommitter&) = delete;

  ~SqliteCommitter() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    writes_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Queues every event accepted and not finished into `queue` (also those that were running
  // when the process died), with their retry times, and starts committing. `queue` must
  // outlive this committer.
  void start(Limits limits, LocalQueue& queue, Rebuild rebuild) {
    limits_ = std::move(limits);
    queue_ = &queue;
    rebuild_ = std::move(rebuild);
    try {
      const auto wall_now = limits_.clock();
      const auto now = SteadyClock::now();
      for (const auto& stored : store_.pending()) enqueue_stored(stored, wall_now, now);
    } catch (const sqlite::Error& error) {
      throw inbox_file_error(path_, inbox_file::describe_read_failure(error));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = true;
    thread_ = std::thread([this] {
      name_this_thread("aw-sqlite");
      commit_loop();
    });
  }

  // Stores the event unless its id is remembered; returns once that is committed.
  Acceptance accept(std::shared_ptr<const EventRecord> record) {
    Write write;
    write.kind = Write::Kind::accept;
    write.headers_json = headers_to_json(record->headers);
    write.record = std::move(record);
    std::unique_lock<std::mutex> lock(mutex_);
    submit(write, lock);
    return write.result;
  }

  // Appends the outcome to the log, or, when the log cannot take it (disk full, a record too
  // large), commits it and waits. Once this returns the outcome survives a kill of the
  // process, unless the commit failed too: then it is kept in memory and retried with every
  // commit (last_error() says why), and a kill runs the event again.
  void record_outcome(const Outcome& outcome) {
    std::size_t logged = 0;
    const bool appended = log_.append(outcome, &logged);
    // Commits fold logged outcomes in as they go; without accepts to commit, a full batch of
    // them calls for a commit of its own.
    if (appended && logged != settings_.max_batch) return;
    std::unique_lock<std::mutex> lock(mutex_);
    if (appended) {
      log_full_ = true;
      writes_cv_.notify_one();
      return;
    }
    Write write;
    write.kind = Write::Kind::outcome;
    write.outcome = outcome;
    submit(write, lock);
  }

  // Returns once every outcome recorded before the call is committed (or the commit failed).
  void commit_outcomes() {
    Write write;
    write.kind = Write::Kind::flush;
    std::unique_lock<std::mutex> lock(mutex_);
    submit(write, lock);
  }

  // Asks for dead letters requeued (by any process) to be queued now rather than within
  // maintenance_interval.
  void request_adoption() {
    std::lock_guard<std::mutex> lock(mutex_);
    adopt_requested_ = true;
    writes_cv_.notify_one();
  }

  CommitStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  std::string last_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_error_;
  }

  // False while the latest transaction (commit or maintenance) failed.
  bool writable() const { return writable_.load(std::memory_order_relaxed); }

  InboxCommitMetrics commit_metrics() const {
    return {commit_duration_.snapshot(seconds_per_ns), batch_size_.snapshot(1.0)};
  }

 private:
  using SteadyClock = std::chrono::steady_clock;

  // A write for the committer. Callers keep it on their stack and wait until `done`.
  struct Write {
    // accept: store `record`. outcome: one the outcome log could not take. flush: commit the
    // outcomes logged so far.
    enum class Kind { accept, outcome, flush };
    Kind kind = Kind::accept;
    std::shared_ptr<const EventRecord> record;  // accept
    std::string headers_json;                   // accept: made by the caller, not the committer
    Outcome outcome;                            // outcome
    Acceptance result = Acceptance::unavailable;
    bool done = false;
    // The caller's own wake-up, so a commit wakes exactly the callers it finished rather than
    // every waiting HTTP thread and worker.
    std::condition_variable* waiter = nullptr;
  };

  // Outcomes the committer has yet to commit: those taken from the log (with the sequence
  // number of the newest) and those of a failed transaction.
  struct CarriedOutcomes {
    std::vector<LoggedOutcome> outcomes;
    std::uint64_t last_seq = 0;  // 0: none from the log

    void merge(std::vector<LoggedOutcome> logged) {
      if (logged.empty()) return;
      last_seq = logged.back().seq;
      outcomes.insert(outcomes.end(), std::make_move_iterator(logged.begin()),
                      std::make_move_iterator(logged.end()));
    }
  };

  // Queues the write behind those of its kind already waiting (so outcomes for one event land
  // in the order they were made; its accept was committed before it could have any) and waits
  // until it is committed or has failed. Before start() nothing can have been logged, and
  // nothing is committed: accepts are `unavailable`.
  void submit(Write& write, std::unique_lock<std::mutex>& lock) {
    if (stopping_ || !running_) return;
    std::condition_variable written;
    write.waiter = &written;
    (write.kind == Write::Kind::accept ? accepts_ : outcomes_).push_back(&write);
    writes_cv_.notify_one();
    written.wait(lock, [&] { return write.done; });
  }

  // On the committer thread, or before it runs: only the committer adds to the queue, so the
  // room commit_group() computed cannot shrink while it writes.
  void enqueue_stored(const StoredEvent& stored, WallTime wall_now, SteadyClock::time_point now) {
    std::optional<SteadyClock::time_point> due;
    if (stored.next_attempt_at && *stored.next_attempt_at > wall_now) {
      due = now +
            std::chrono::duration_cast<SteadyClock::duration>(*stored.next_attempt_at - wall_now);
    }
    queue_->add(Delivery{rebuild_(stored), stored.attempt, stored.pending_handlers}, no_limit, due);
  }

  // Outcomes logged by an earlier run and not yet in the database (it may have been killed
  // between the two) are applied before anything is queued, so a finished event stays finished.
  void apply_logged_outcomes() {
    try {
      const auto logged = log_.read_all();
      auto last_seq = store_.applied_outcome_seq();
      sqlite::WriteTransaction transaction(store_.connection());
      for (const auto& entry : logged) {
        if (entry.seq <= last_seq) continue;  // already applied before the log was emptied
        store_.apply(entry.outcome);
        last_seq = entry.seq;
      }
      store_.set_applied_outcome_seq(last_seq);
      transaction.commit();
      log_.reset(last_seq);
    } catch (const sqlite::Error& error) {
      throw inbox_file_error(path_, inbox_file::describe_read_failure(error));
    }
  }

  // Every write goes through here, in submission order.
  void commit_loop() {
    auto next_maintenance = SteadyClock::now() + settings_.maintenance_interval;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      writes_cv_.wait_until(lock, next_maintenance, [&] {
        return stopping_ || !outcomes_.empty() || !accepts_.empty() || log_full_ ||
               adopt_requested_;
      });
      const auto now = SteadyClock::now();
      const bool due = now >= next_maintenance;
      // Maintenance and stopping commit the logged outcomes too, so none waits for long.
      if (!accepts_.empty() || !outcomes_.empty() || log_full_ || due || stopping_) {
        commit_group(lock);
      }
      if (stopping_ && outcomes_.empty() && accepts_.empty()) break;
      if (due || adopt_requested_) {
        const bool more_to_prune = maintain(lock, due);
        if (due) next_maintenance = more_to_prune ? now : now + settings_.maintenance_interval;
      }
    }
  }

  // Takes the writes waiting (after waiting up to group_commit_window for more accepts) and
  // the outcomes logged, commits them in one transaction and wakes their callers.
  void commit_group(std::unique_lock<std::mutex>& lock) {
    log_full_ = false;
    const auto window = settings_.group_commit_window;
    if (window.count() > 0 && !accepts_.empty() && accepts_.size() < settings_.max_batch) {
      writes_cv_.wait_for(lock, window,
                          [&] { return stopping_ || accepts_.size() >= settings_.max_batch; });
    }
    const auto take = std::min(accepts_.size(), settings_.max_batch);
    std::vector<Write*> batch(outcomes_.begin(), outcomes_.end());
    outcomes_.clear();
    batch.insert(batch.end(), accepts_.begin(),
                 accepts_.begin() + static_cast<std::ptrdiff_t>(take));
    accepts_.erase(accepts_.begin(), accepts_.begin() + static_cast<std::ptrdiff_t>(take));
    const std::size_t held = queue_->depth();
    const std::size_t room = limits_.queue_capacity > held ? limits_.queue_capacity - held : 0;
    lock.unlock();
    // Taken after the writes: an outcome logged before a flush was submitted is in this batch.
    carried_.merge(log_.take());
    const bool writes_something =
        !carried_.outcomes.empty() || std::any_of(batch.begin(), batch.end(), [](Write* write) {
          return write->kind != Write::Kind::flush;
        });
    const auto write_started = SteadyClock::now();
    const auto failure = writes_something ? write_batch(batch, room) : std::nullopt;
    if (writes_something) {
      commit_duration_.observe(SteadyClock::now() - write_started);
      writable_.store(!failure, std::memory_order_relaxed);
    }
    if (!failure && writes_something) {
      std::uint64_t stored = 0;
      for (Write* write : batch) {
        if (write->kind != Write::Kind::accept || write->result != Acceptance::accepted) continue;
        queue_->add(Delivery{write->record, 1, {}}, no_limit);
        ++stored;
      }
      if (stored > 0) batch_size_.observe(stored);
      lock.lock();
      ++stats_.commits;
      if (stored > 0) {
        ++stats_.event_commits;
        stats_.events_committed += stored;
      }
    } else {
      lock.lock();
      if (failure) last_error_ = *failure;
    }
    // Notified under the lock: a caller woken otherwise could return and destroy its condition
    // variable before notify_one() touches it.
    for (Write* write : batch) {
      write->done = true;
      write->waiter->notify_one();
    }
  }

  // One transaction for the outcomes carried (logged, or left by a failed batch) and `batch`.
  // Returns why it failed, if it did: accepts are then `unavailable` and outcomes are carried
  // over to the next transaction (they are idempotent).
  std::optional<std::string> write_batch(const std::vector<Write*>& batch, std::size_t room) {
    const bool has_accepts = std::any_of(batch.begin(), batch.end(), [](const Write* write) {
      return write->kind == Write::Kind::accept;
    });
    const auto now = limits_.clock();
    try {
      // An accept's commit waits for the fsync: that is what the 200 promises. Outcomes alone
      // need only survive a crash of this process, like the log they come from.
      store_.sync_commits(has_accepts);
      sqlite::WriteTransaction transaction(store_.connection());
      for (const auto& entry : carried_.outcomes) store_.apply(entry.outcome);
      if (carried_.last_seq > 0) store_.set_applied_outcome_seq(carried_.last_seq);
      std::size_t stored = 0;
      for (Write* write : batch) {
        if (write->kind == Write::Kind::flush) continue;  // asks for the commit, writes nothing
        if (write->kind == Write::Kind::outcome) {
          store_.apply(write->outcome);
        } else if (stored < room) {
          const bool inserted =
              store_.insert_new(*write->record, write->headers_json, now, limits_.dedupe_window);
          write->result = inserted ? Acceptance::accepted : Acceptance::duplicate;
          if (inserted) ++stored;
        } else {
          write->result = store_.remembers(write->record->id, now, limits_.dedupe_window)
                              ? Acceptance::duplicate
                              : Acceptance::full;
        }
      }
      transaction.commit();
      if (carried_.last_seq > 0) log_.applied(carried_.last_seq);
      carried_ = {};
      return std::nullopt;
    } catch (const std::exception& error) {
      for (Write* write : batch) {
        if (write->kind == Write::Kind::accept) write->result = Acceptance::unavailable;
        if (write->kind == Write::Kind::outcome) carried_.outcomes.push_back({0, write->outcome});
      }
      return std::string(error.what());
    }
  }

  // Prunes (when `due`) and queues requeued dead letters. Returns true when a full prune
  // batch suggests there is more to prune.
  bool maintain(std::unique_lock<std::mutex>& lock, bool due) {
    adopt_requested_ = false;
    lock.unlock();

    std::size_t pruned = 0;
    std::optional<std::string> failure;
    try {
      store_.sync_commits(false);
      sqlite::WriteTransaction transaction(store_.connection());
      if (due) {
        pruned =
            store_.prune_completed(limits_.clock() - limits_.dedupe_window, settings_.prune_batch);
      }
      const auto adopted = store_.take_requeued();
      transaction.commit();
      const auto wall_now = limits_.clock();
      const auto now = SteadyClock::now();
      for (const auto& stored : adopted) enqueue_stored(stored, wall_now, now);
    } catch (const std::exception& error) {
      failure = error.what();
      pruned = 0;
    }

    writable_.store(!failure, std::memory_order_relaxed);
    lock.lock();
    if (failure) last_error_ = *failure;
    return pruned == settings_.prune_batch;
  }

  static constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

  const std::string path_;
  const SqliteInboxSettings settings_;
  Limits limits_{};
  LocalQueue* queue_ = nullptr;
  Rebuild rebuild_;

  SqliteInboxStore store_;  // the committer's (and the constructor's) connection
  OutcomeLog log_;
  CarriedOutcomes carried_;  // committer thread only

  mutable std::mutex mutex_;
  std::condition_variable writes_cv_;
  // Writes waiting, by kind: accepts, and outcomes and flushes.
  std::deque<Write*> accepts_;
  std::deque<Write*> outcomes_;
  bool running_ = false;
  bool stopping_ = false;
  bool adopt_requested_ = false;
  bool log_full_ = false;  // a full batch of outcomes is logged
  CommitStats stats_;
  std::string last_error_;
  // Read by scrapes and readiness probes while the committer thread writes them.
  std::atomic<bool> writable_{true};
  DurationHistogram commit_duration_{duration_bounds_ns};
  CountHistogram batch_size_{count_bounds};
  std::thread thread_;
};

}  // namespace allthings::webhooks::detail
