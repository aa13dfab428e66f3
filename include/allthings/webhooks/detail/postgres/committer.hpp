#pragma once

// The PostgreSQL inbox's writers of accepts: threads with a connection each, every one taking
// all the accepts waiting at that moment into one transaction, sent as one round trip (pipeline
// mode): the serialize keys' locks when there are keys and one multi-row insert; once it
// committed, one NOTIFY for the other replicas in a transaction of its own. Callers of accept()
// wait for the commit, which waits for the WAL to reach the disk (synchronous_commit stays on),
// so a 200 means committed. The shape is SqliteCommitter's group commit; with more than one
// writer, a batch is written while the one before waits for its flush, and the server flushes
// both with one write of the log.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../../inbox.hpp"
#include "../../inbox/postgres_settings.hpp"
#include "../../metrics.hpp"
#include "../../options.hpp"
#include "../core/histogram.hpp"
#include "../process/thread_name.hpp"
#include "../queue/stored_form.hpp"
#include "removal_tally.hpp"
#include "session.hpp"
#include "statements.hpp"
#include "text_column.hpp"

namespace allthings::webhooks::detail::pg {

class AcceptCommitter {
 public:
  // What the receiver decides, from its Options.
  struct Limits {
    std::size_t queue_capacity;
    std::chrono::seconds dedupe_window;
    Clock clock;
  };

  // One writer thread per session.
  // `removals`: what this replica's lease keeper takes out of the queue.
  AcceptCommitter(std::vector<Session> sessions, const InboxSql& sql, std::size_t max_batch,
                  std::string replica, std::shared_ptr<RemovalTally> removals)
      : sessions_(std::move(sessions)),
        sql_(sql),
        max_batch_(max_batch),
        replica_(std::move(replica)),
        removals_(std::move(removals)) {}

  AcceptCommitter(const AcceptCommitter&) = delete;
  AcceptCommitter& operator=(const AcceptCommitter&) = delete;

  // Commits what is waiting, then stops.
  ~AcceptCommitter() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    writes_cv_.notify_all();
    for (auto& thread : threads_) thread.join();
  }

  // Starts committing; `on_new_events` runs on the committer thread after a commit stored new
  // events (this replica's workers may claim them at once), with the lowest seq it stored: a
  // batch may commit after one that took higher seqs.
  void start(Limits limits, std::function<void(std::int64_t lowest_seq)> on_new_events) {
    std::lock_guard<std::mutex> lock(mutex_);
    limits_ = std::move(limits);
    on_new_events_ = std::move(on_new_events);
    running_ = true;
    for (auto& session : sessions_) {
      threads_.emplace_back([this, &session] {
        name_this_thread("aw-pg-commit");
        commit_loop(session);
      });
    }
  }

  // Stores the event with its serialize key (none when empty) unless its id is remembered;
  // returns once that is committed, or `unavailable` when the database could not take it.
  Acceptance accept(const EventRecord& record, std::string serial_key) {
    Write write;
    write.id = storable_key(record.id);
    write.name = storable_name(record.name);
    write.raw_body = std::string_view(record.raw_body);
    write.headers_json = headers_to_json(record.headers);
    write.received_at = to_millis(record.received_at);
    if (!serial_key.empty()) write.serial_key = storable_key(std::move(serial_key));
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_ || !running_) return Acceptance::unavailable;
    std::condition_variable written;
    write.waiter = &written;
    accepts_.push_back(&write);
    writes_cv_.notify_one();
    written.wait(lock, [&] { return write.done; });
    return write.result;
  }

  // False while the latest commit failed (database down, statement timeout): readiness
  // turns 503 until a commit succeeds again.
  bool writable() const { return writable_.load(std::memory_order_relaxed); }

  InboxCommitMetrics commit_metrics() const {
    return {commit_duration_.snapshot(seconds_per_ns), batch_size_.snapshot(1.0)};
  }

  PostgresInboxStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    PostgresInboxStats stats = stats_;
    stats.reconnects = reconnects_;
    return stats;
  }

  std::string last_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_error_;
  }

 private:
  // An accept waiting for the committer; it lives on its caller's stack until `done`.
  struct Write {
    std::string id, name;
    std::string_view raw_body;  // the caller's record outlives the write
    std::string headers_json;   // made by the caller, off the committer thread
    std::int64_t received_at = 0;
    std::optional<std::string> serial_key;
    Acceptance result = Acceptance::unavailable;
    bool done = false;
    std::condition_variable* waiter = nullptr;
  };

  void commit_loop(Session& session) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      writes_cv_.wait(lock, [&] { return stopping_ || !accepts_.empty(); });
      if (accepts_.empty()) return;  // stopping, and nothing left to commit
      const auto take = std::min(accepts_.size(), max_batch_);
      std::vector<Write*> batch(accepts_.begin(),
                                accepts_.begin() + static_cast<std::ptrdiff_t>(take));
      accepts_.erase(accepts_.begin(), accepts_.begin() + static_cast<std::ptrdiff_t>(take));
      const bool count_queue = must_count_queue(take);
      const auto stored_before = stored_total_;
      in_flight_ += take;
      lock.unlock();
      std::string failure;
      std::optional<std::int64_t> room;
      std::int64_t lowest_seq = 0;
      const auto commit_started = std::chrono::steady_clock::now();
      const std::size_t stored = commit(session, batch, count_queue, room, lowest_seq, failure);
      commit_duration_.observe(std::chrono::steady_clock::now() - commit_started);
      if (stored > 0) batch_size_.observe(stored);
      writable_.store(failure.empty(), std::memory_order_relaxed);
      // A failed batch may still have committed (the connection broke after the COMMIT went
      // out): its events, wherever they are, must not wait for a claim from the start.
      if (on_new_events_ && (stored > 0 || !failure.empty())) {
        on_new_events_(failure.empty() ? lowest_seq : 0);
      }
      lock.lock();
      in_flight_ -= take;
      stored_total_ += stored;
      if (room) {
        // Counted before this batch; add it and what other batches stored since it was taken
        // (some may be counted already: the estimate errs high).
        const auto capacity = static_cast<std::int64_t>(limits_.queue_capacity);
        const auto queued_before =
            static_cast<std::size_t>(std::max<std::int64_t>(0, capacity - *room));
        queued_estimate_ = queued_before + (stored_total_ - stored_before);
        last_count_ = commit_started;
        removals_->counted(std::chrono::steady_clock::now());
      } else {
        queued_estimate_ += stored;
      }
      if (!failure.empty()) last_error_ = failure;
      if (stored > 0) {
        ++stats_.commits;
        stats_.events_committed += stored;
      }
      reconnects_ += session.reconnects() - reconnects_seen_[&session];
      reconnects_seen_[&session] = session.reconnects();
      // Notified under the lock: a caller woken otherwise could return and destroy its
      // condition variable before notify_one() touches it.
      for (Write* write : batch) {
        write->done = true;
        write->waiter->notify_one();
      }
      if (stored > 0 && commit_started - last_hint_ >= hint_gap) {
        last_hint_ = commit_started;
        lock.unlock();
        hint_other_replicas(session);
        lock.lock();
      }
    }
  }

  // Caller holds mutex_. Whether the batch about to be written must count the queue: when
  // the queue may be half full by the estimate (the last count, plus this replica's accepts
  // since, the batches in flight and this one, minus what its lease keeper took out since;
  // other replicas' completions only make it smaller), and at
  // least every recount_interval, so other replicas' accepts are seen too. With one replica
  // the estimate never undercounts, so no batch that could overfill the queue goes uncounted.
  bool must_count_queue(std::size_t take) {
    queued_estimate_ -= std::min(removals_->take(), queued_estimate_);
    return std::chrono::steady_clock::now() - last_count_ >= recount_interval ||
           2 * (queued_estimate_ + in_flight_ + take) >= limits_.queue_capacity;
  }

  // After the callers have their answers: a hint only, so a failure is left to the other
  // replicas' polling (and a broken connection to the next batch's reconnect).
  void hint_other_replicas(Session& session) {
    try {
      session.run({"aw_notify_committed", sql_.notify_committed,
                   Params().text(sql_.channel).text(replica_)});
    } catch (const Error&) {
    }
  }

  // One transaction for the batch; sets each write's result and returns how many events it
  // stored. A second delivery of an id inside the batch shares the first one's fate (it is a
  // duplicate when the first is stored): the database would refuse the same id twice in one
  // statement.
  // `count_queue`: count the queue for the capacity (its room is put in `room`), or take it
  // as far from full. `lowest_seq`: the lowest seq of the events stored.
  std::size_t commit(Session& session, const std::vector<Write*>& batch, bool count_queue,
                     std::optional<std::int64_t>& room, std::int64_t& lowest_seq,
                     std::string& failure) {
    std::unordered_map<std::string_view, Write*> first_of;
    std::vector<Write*> rows;
    std::vector<std::pair<Write*, Write*>> repeats;  // (repeat, first)
    for (Write* write : batch) {
      const auto [at, fresh] = first_of.emplace(write->id, write);
      if (fresh) {
        rows.push_back(write);
      } else {
        repeats.emplace_back(write, at->second);
      }
    }
    std::vector<std::string_view> ids, names, bodies, headers;
    std::vector<std::optional<std::string_view>> keys;
    std::vector<std::int64_t> received;
    std::vector<std::string_view> distinct_keys;
    for (const Write* write : rows) {
      ids.push_back(write->id);
      names.push_back(write->name);
      bodies.push_back(write->raw_body);
      headers.push_back(write->headers_json);
      received.push_back(write->received_at);
      keys.emplace_back(write->serial_key ? std::optional<std::string_view>(*write->serial_key)
                                          : std::nullopt);
      if (write->serial_key) distinct_keys.push_back(*write->serial_key);
    }
    const auto now = limits_.clock();
    std::vector<Statement> round;
    if (!distinct_keys.empty()) {
      round.push_back({"aw_lock_keys", sql_.lock_keys,
                       Params().text_array(distinct_keys).text(sql_.lock_space())});
    }
    round.push_back({"aw_accept", sql_.accept,
                     Params()
                         .text_array(ids)
                         .text_array(names)
                         .bytes_array(bodies)
                         .text_array(headers)
                         .int8_array(received)
                         .text_array(keys)
                         .int8(to_millis(now))
                         .int8(to_millis(now - limits_.dedupe_window))
                         .int8(static_cast<std::int64_t>(limits_.queue_capacity))
                         .int8(count_queue ? 1 : 0)});

    std::size_t stored = 0;
    try {
      const auto results = session.run(round);
      const Result& answers = results[distinct_keys.empty() ? 0 : 1];
      if (answers.rows() != static_cast<int>(rows.size())) {
        throw Error("the accept statement answered " + std::to_string(answers.rows()) +
                        " rows for " + std::to_string(rows.size()) + " events",
                    "", false);
      }
      if (count_queue) room = answers.int8(0, 1);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        switch (answers.int8(static_cast<int>(i), 0)) {
          case accepted_answer: {
            rows[i]->result = Acceptance::accepted;
            const auto seq = answers.int8(static_cast<int>(i), 2);
            lowest_seq = stored == 0 ? seq : std::min(lowest_seq, seq);
            ++stored;
            break;
          }
          case duplicate_answer: rows[i]->result = Acceptance::duplicate; break;
          default: rows[i]->result = Acceptance::full; break;
        }
      }
    } catch (const Error& error) {
      // Not committed, or not known to be (the connection broke after the COMMIT went out):
      // either way never a 200. A retry of an event that did commit is answered duplicate.
      failure = error.what();
      for (Write* write : rows) write->result = Acceptance::unavailable;
    }
    for (const auto& [repeat, first] : repeats) {
      repeat->result =
          first->result == Acceptance::accepted ? Acceptance::duplicate : first->result;
    }
    return stored;
  }

  std::vector<Session> sessions_;  // each used by its own writer thread only
  std::atomic<bool> writable_{true};
  DurationHistogram commit_duration_{duration_bounds_ns};
  CountHistogram batch_size_{count_bounds};
  const InboxSql& sql_;
  const std::size_t max_batch_;
  const std::string replica_;
  Limits limits_{};
  std::function<void(std::int64_t lowest_seq)> on_new_events_;

  mutable std::mutex mutex_;
  std::condition_variable writes_cv_;
  std::deque<Write*> accepts_;
  bool running_ = false;
  bool stopping_ = false;
  PostgresInboxStats stats_;
  std::uint64_t reconnects_ = 0;
  std::unordered_map<const Session*, std::uint64_t> reconnects_seen_;
  // What this replica knows of the queue's length, so that most batches need not count it.
  static constexpr std::chrono::seconds recount_interval{1};
  std::size_t queued_estimate_ = 0;  // at the last count, plus stored since, minus removals
  const std::shared_ptr<RemovalTally> removals_;
  std::size_t in_flight_ = 0;        // accepts in batches being written
  std::size_t stored_total_ = 0;     // events this replica's batches stored
  std::chrono::steady_clock::time_point last_count_{};  // never: the first batch counts
  // Other replicas are hinted (NOTIFY, a transaction of its own) at most once per hint_gap:
  // under load a batch commits every millisecond or so, and a hint per batch cost the database
  // a transaction per five events. Events a batch stores while the hint is held back are
  // claimed at once by this replica (its commits wake its own workers), and by the others at
  // the next hint or their next poll.
  static constexpr std::chrono::milliseconds hint_gap{10};
  std::chrono::steady_clock::time_point last_hint_{};
  std::string last_error_;
  std::vector<std::thread> threads_;
};

}  // namespace allthings::webhooks::detail::pg
