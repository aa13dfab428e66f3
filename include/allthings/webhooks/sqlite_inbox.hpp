#pragma once

// The durable inbox: accept() returns only once the event is committed to a SQLite database
// (WAL, synchronous=FULL), so the 200 that follows means "on disk". Not part of the umbrella
// header: only code that includes this one needs SQLite (CMake target
// allthings::webhooks_sqlite).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "detail/delivery_queue.hpp"
#include "detail/sqlite.hpp"
#include "detail/sqlite_inbox_schema.hpp"
#include "detail/sqlite_inbox_store.hpp"
#include "envelope.hpp"
#include "inbox.hpp"
#include "options.hpp"

namespace allthings::webhooks {

struct SqliteInboxSettings {
  // How long a write waits for another connection's lock before accept() answers
  // `unavailable` (503).
  std::chrono::milliseconds busy_timeout{1000};
  // Accepts that arrive while a commit is under way share the next transaction and fsync.
  // Waiting this much longer for company before each commit trades latency for larger
  // batches; zero waits for nobody.
  std::chrono::microseconds group_commit_window{0};
  // Most writes in one transaction.
  std::size_t max_batch = 512;
  // How often completed events past the dedupe window are pruned, and dead letters requeued by
  // another process (e.g. the dead_letters tool) are picked up.
  std::chrono::milliseconds maintenance_interval{1000};
  // Most rows one maintenance transaction deletes, so pruning never holds up accepts for long.
  std::size_t prune_batch = 1000;
  // A cap on the database's size (PRAGMA max_page_count). Beyond it accept() answers
  // `unavailable` (503) until completed events (whose bodies are dropped) or pruning free
  // pages. Zero: only the disk limits it.
  std::uint64_t max_size_bytes = 0;
  // Runs PRAGMA quick_check when opening an existing file, so a corrupt file fails at
  // construction instead of half-way through. It reads the whole file once.
  bool check_integrity_on_open = true;
};

// Group-commit figures since construction.
struct CommitStats {
  std::uint64_t commits = 0;           // transactions of accepts and outcomes committed
  std::uint64_t event_commits = 0;     // of those, the ones that stored at least one new event
  std::uint64_t events_committed = 0;  // new events stored

  // How many accepted events shared one commit (and one fsync), on average.
  double events_per_commit() const {
    return event_commits == 0 ? 0.0
                              : static_cast<double>(events_committed) /
                                    static_cast<double>(event_commits);
  }
};

// The operator's view of an inbox file: dead letters, requeueing, looking events up. It never
// dispatches, so it may run in another process next to the receiver (the dead_letters tool
// does); the receiver queues requeued events within its maintenance_interval. Thread-safe.
// Methods throw std::runtime_error when the file cannot be read or written.
class SqliteInboxFile {
 public:
  // Opens an existing inbox; throws detail::InboxFileError (a std::runtime_error) naming the
  // path and the problem when it is missing, unreadable, corrupt, not SQLite, or not an inbox.
  explicit SqliteInboxFile(std::string path,
                           std::chrono::milliseconds busy_timeout = std::chrono::seconds(1))
      : path_(std::move(path)),
        store_(detail::open_inbox_database(path_, {busy_timeout, 0, false, false})) {}

  // Dead letters in arrival order.
  std::vector<DeadLetter> dead_letters() {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.dead_letters();
  }

  // The event with this id as stored, while the inbox remembers it.
  std::optional<StoredEvent> find(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.find(id);
  }

  // Events on disk in `state`.
  std::size_t count(StoredState state) {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.count(state);
  }

  // Makes a dead letter pending again, with a fresh round of max_attempts; the handlers that
  // had not succeeded stay the ones to run. False when `id` is not a dead letter.
  bool requeue(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.requeue(id);
  }

  // requeue() for every dead letter; returns how many there were.
  std::size_t requeue_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.requeue_all();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mutex_;
  detail::SqliteInboxStore store_;
};

// An Inbox whose state lives in one SQLite file. accept() returns after the commit; concurrent
// accepts share one transaction and one fsync (a committer thread takes every write waiting
// and commits them together). On construction, every event accepted and not finished, also
// those that were running when the process died, is queued again, with retry times kept.
// Completed events are remembered for the dedupe window, then pruned in the background. Dead
// letters stay on disk until requeued. One SqliteInbox per file at a time; other processes
// may inspect it and requeue dead letters through SqliteInboxFile meanwhile.
// Workers wait for their outcome's commit, so each finishes at most one event per commit:
// with fast handlers, use more workers than with MemoryInbox (the README suggests 16).
class SqliteInbox final : public Inbox {
 public:
  using Settings = SqliteInboxSettings;

  // Opens or creates the inbox at `path`, taking queue_capacity, dedupe_window, clock and the
  // envelope paths from `options`. Throws std::invalid_argument for invalid settings and
  // detail::InboxFileError (a std::runtime_error) naming the path and the problem when the
  // file is unreadable, read-only, corrupt, not SQLite, or not an inbox.
  SqliteInbox(std::string path, const Options& options, Settings settings = {})
      : path_(std::move(path)),
        settings_(settings),
        limits_(checked_limits(options, settings_)),
        parser_(options.envelope),
        store_(detail::open_inbox_database(path_, {settings_.busy_timeout, settings_.max_size_bytes,
                                                   settings_.check_integrity_on_open, true})),
        file_(path_, settings_.busy_timeout) {
    load_pending();
    committer_ = std::thread([this] { commit_loop(); });
  }

  SqliteInbox(const SqliteInbox&) = delete;
  SqliteInbox& operator=(const SqliteInbox&) = delete;

  ~SqliteInbox() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      closed_ = true;
    }
    writes_cv_.notify_all();
    ready_cv_.notify_all();
    committer_.join();
  }

  Acceptance accept(std::shared_ptr<const EventRecord> record) override {
    Write write;
    write.kind = Write::Kind::accept;
    write.id = record->id;
    write.record = std::move(record);
    std::unique_lock<std::mutex> lock(mutex_);
    submit(write, lock);
    return write.result;
  }

  std::optional<Delivery> next(std::chrono::milliseconds wait) override {
    std::unique_lock<std::mutex> lock(mutex_);
    return queue_.wait_next(lock, ready_cv_, wait, [this] { return closed_; });
  }

  // Outcomes return once committed, so an event finished before its process died never runs
  // again. Their commits skip the fsync (only accepts need one): after a power loss, an event
  // finished moments before may run again (never one acknowledged is lost).
  void complete(const Delivery& delivery) override {
    finish(delivery, Write::Kind::complete, std::string());
  }

  void dead_letter(const Delivery& delivery, const std::string& reason) override {
    finish(delivery, Write::Kind::dead_letter, reason);
  }

  void retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                   std::chrono::milliseconds delay) override {
    Write write = outcome(Write::Kind::retry, delivery);
    write.attempt = delivery.attempt + 1;
    write.handlers = failed_handlers;
    write.at += delay;  // persisted on the wall clock, so the back-off survives a restart
    std::unique_lock<std::mutex> lock(mutex_);
    if (held_.count(delivery.record->id) == 0) return;
    queue_.schedule(SteadyClock::now() + delay,
                       Delivery{delivery.record, delivery.attempt + 1, std::move(failed_handlers)});
    ready_cv_.notify_all();  // a waiter may now have to wake earlier
    submit(write, lock);
  }

  std::size_t depth() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_.size();
  }

  void close() override {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    ready_cv_.notify_all();
  }

  // Nothing is lost: unfinished events stay on disk and run again at the next start.
  std::vector<std::shared_ptr<const EventRecord>> take_unfinished() override { return {}; }

  // The SqliteInboxFile operations on this inbox's file. A requeued event is queued at once.
  std::vector<DeadLetter> dead_letters() const { return file_.dead_letters(); }
  std::optional<StoredEvent> find(const std::string& id) const { return file_.find(id); }
  std::size_t count(StoredState state) const { return file_.count(state); }
  bool requeue(const std::string& id) {
    const bool requeued = file_.requeue(id);
    if (requeued) request_adoption();
    return requeued;
  }
  std::size_t requeue_all() {
    const auto requeued = file_.requeue_all();
    if (requeued > 0) request_adoption();
    return requeued;
  }

  CommitStats commit_stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return commit_stats_;
  }

  // Why the latest write or maintenance failed (e.g. "database or disk is full"); empty when
  // none has failed.
  std::string last_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_error_;
  }

  const std::string& path() const { return path_; }

 private:
  using SteadyClock = std::chrono::steady_clock;

  struct Limits {
    std::size_t queue_capacity;
    std::chrono::seconds dedupe_window;
    Clock clock;
  };

  // A write for the committer. Callers keep it on their stack and wait until `done`.
  struct Write {
    enum class Kind { accept, complete, retry, dead_letter };
    Kind kind = Kind::accept;
    std::string id;
    std::shared_ptr<const EventRecord> record;  // accept
    int attempt = 0;
    std::vector<std::size_t> handlers;
    detail::WallTime at;  // finished at, or (retry) due at
    std::string reason;   // dead letter
    Acceptance result = Acceptance::unavailable;
    bool done = false;
    // The caller's own wake-up, so a commit wakes exactly the callers it finished rather than
    // every waiting HTTP thread and worker.
    std::condition_variable* waiter = nullptr;
  };

  static Limits checked_limits(const Options& options, const Settings& settings) {
    if (options.queue_capacity == 0) throw std::invalid_argument("queue_capacity must be > 0");
    if (options.dedupe_window.count() <= 0) {
      throw std::invalid_argument("dedupe_window must be positive");
    }
    if (!options.clock) throw std::invalid_argument("clock must be set");
    if (settings.max_batch == 0) throw std::invalid_argument("max_batch must be > 0");
    if (settings.prune_batch == 0) throw std::invalid_argument("prune_batch must be > 0");
    if (settings.maintenance_interval.count() <= 0) {
      throw std::invalid_argument("maintenance_interval must be positive");
    }
    return {options.queue_capacity, options.dedupe_window, options.clock};
  }

  Write outcome(Write::Kind kind, const Delivery& delivery) const {
    Write write;
    write.kind = kind;
    write.id = delivery.record->id;
    write.attempt = delivery.attempt;
    write.handlers = delivery.pending_handlers;
    write.at = limits_.clock();
    return write;
  }

  void finish(const Delivery& delivery, Write::Kind kind, std::string reason) {
    Write write = outcome(kind, delivery);
    write.reason = std::move(reason);
    std::unique_lock<std::mutex> lock(mutex_);
    if (held_.erase(delivery.record->id) == 0) return;
    submit(write, lock);
  }

  // Queues the write behind those of its kind already waiting (so outcomes for one event land
  // in the order they were made; its accept was committed before it could have any) and waits
  // until it is committed or has failed.
  void submit(Write& write, std::unique_lock<std::mutex>& lock) {
    if (stopping_) return;
    std::condition_variable written;
    write.waiter = &written;
    (write.kind == Write::Kind::accept ? accepts_ : outcomes_).push_back(&write);
    writes_cv_.notify_one();
    written.wait(lock, [&] { return write.done; });
  }

  void request_adoption() {
    std::lock_guard<std::mutex> lock(mutex_);
    adopt_requested_ = true;
    writes_cv_.notify_one();
  }

  // The record as it was accepted: the envelope is parsed again from the stored body, while
  // id and name stay those stored, even if the envelope options changed since.
  std::shared_ptr<const EventRecord> rebuild(const StoredEvent& stored) const {
    auto parsed = parser_.parse(stored.raw_body, stored.headers, stored.received_at);
    std::shared_ptr<EventRecord> record;
    if (auto* ok = std::get_if<std::shared_ptr<EventRecord>>(&parsed)) {
      record = std::move(*ok);
    } else {
      record = std::make_shared<EventRecord>();
      record->raw_body = stored.raw_body;
      record->headers = stored.headers;
      record->received_at = stored.received_at;
    }
    record->id = stored.id;
    record->name = stored.name;
    return record;
  }

  // Under mutex_ (or before any other thread exists).
  void enqueue_stored(const StoredEvent& stored, std::shared_ptr<const EventRecord> record,
                      detail::WallTime wall_now, SteadyClock::time_point now) {
    if (!held_.insert(stored.id).second) return;  // already queued here
    Delivery delivery{std::move(record), stored.attempt, stored.pending_handlers};
    if (stored.next_attempt_at && *stored.next_attempt_at > wall_now) {
      const auto wait =
          std::chrono::duration_cast<SteadyClock::duration>(*stored.next_attempt_at - wall_now);
      queue_.schedule(now + wait, std::move(delivery));
    } else {
      queue_.push(std::move(delivery));
    }
  }

  void load_pending() {
    try {
      const auto wall_now = limits_.clock();
      const auto now = SteadyClock::now();
      for (const auto& stored : store_.pending()) {
        enqueue_stored(stored, rebuild(stored), wall_now, now);
      }
    } catch (const detail::sqlite::Error& error) {
      throw detail::InboxFileError(path_, detail::inbox_file::describe_read_failure(error));
    }
  }

  // The committer thread: every write goes through here, in submission order.
  void commit_loop() {
    auto next_maintenance = SteadyClock::now() + settings_.maintenance_interval;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      writes_cv_.wait_until(lock, next_maintenance, [&] {
        return stopping_ || !outcomes_.empty() || !accepts_.empty() || adopt_requested_;
      });
      // Outcomes first, in a commit of their own without fsync: a worker waits for its outcome
      // before taking the next event, so it must not wait behind the accepts' fsync as well.
      if (!outcomes_.empty()) commit_group(outcomes_, std::chrono::microseconds(0), lock);
      if (!accepts_.empty()) commit_group(accepts_, settings_.group_commit_window, lock);
      if (stopping_ && outcomes_.empty() && accepts_.empty()) break;
      const auto now = SteadyClock::now();
      if (now >= next_maintenance || adopt_requested_) {
        const bool due = now >= next_maintenance;
        const bool more_to_prune = maintain(lock, due);
        if (due) next_maintenance = more_to_prune ? now : now + settings_.maintenance_interval;
      }
    }
    if (!carried_.empty()) {
      lock.unlock();
      write_batch({}, 0);  // a last try for outcomes whose write failed earlier
    }
  }

  // Takes the writes waiting in `writes` after waiting up to `window` for more, commits them in
  // one transaction and wakes their callers.
  void commit_group(std::deque<Write*>& writes, std::chrono::microseconds window,
                    std::unique_lock<std::mutex>& lock) {
    if (window.count() > 0 && writes.size() < settings_.max_batch) {
      writes_cv_.wait_for(lock, window,
                          [&] { return stopping_ || writes.size() >= settings_.max_batch; });
    }
    const auto take = std::min(writes.size(), settings_.max_batch);
    std::vector<Write*> batch(writes.begin(), writes.begin() + static_cast<std::ptrdiff_t>(take));
    writes.erase(writes.begin(), writes.begin() + static_cast<std::ptrdiff_t>(take));
    // Only this thread adds to held_, so the room can only grow while the batch is written.
    const std::size_t room =
        limits_.queue_capacity > held_.size() ? limits_.queue_capacity - held_.size() : 0;
    lock.unlock();
    const auto failure = write_batch(batch, room);
    lock.lock();

    if (failure) {
      last_error_ = *failure;
    } else {
      std::uint64_t stored = 0;
      bool wake = false;
      for (Write* write : batch) {
        if (write->kind != Write::Kind::accept || write->result != Acceptance::accepted) continue;
        held_.insert(write->id);
        if (queue_.push(Delivery{write->record, 1, {}})) wake = true;
        ++stored;
      }
      ++commit_stats_.commits;
      if (stored > 0) {
        ++commit_stats_.event_commits;
        commit_stats_.events_committed += stored;
      }
      if (wake) ready_cv_.notify_one();  // it wakes the next itself if there is more
    }
    // Notified under the lock: a caller woken otherwise could return and destroy its condition
    // variable before notify_one() touches it.
    for (Write* write : batch) {
      write->done = true;
      write->waiter->notify_one();
    }
  }

  // One transaction for the outcomes carried over from a failed batch and then `batch`.
  // Returns why it failed, if it did: accepts are then `unavailable` and outcomes are carried
  // over to the next transaction (they are idempotent).
  std::optional<std::string> write_batch(const std::vector<Write*>& batch, std::size_t room) {
    const auto now = limits_.clock();
    const bool has_accepts = std::any_of(batch.begin(), batch.end(), [](const Write* write) {
      return write->kind == Write::Kind::accept;
    });
    try {
      // An accept's commit waits for the fsync: that is what the 200 promises. Outcomes alone
      // need only survive a crash of this process; fsync'ing each would hold every worker up.
      store_.sync_commits(has_accepts);
      detail::sqlite::WriteTransaction transaction(store_.connection());
      for (const auto& write : carried_) write_outcome(write);
      std::size_t stored = 0;
      for (Write* write : batch) {
        if (write->kind != Write::Kind::accept) {
          write_outcome(*write);
        } else if (stored < room) {
          const bool inserted = store_.insert_new(*write->record, now, limits_.dedupe_window);
          write->result = inserted ? Acceptance::accepted : Acceptance::duplicate;
          if (inserted) ++stored;
        } else {
          write->result = store_.remembers(write->id, now, limits_.dedupe_window)
                              ? Acceptance::duplicate
                              : Acceptance::full;
        }
      }
      transaction.commit();
      carried_.clear();
      return std::nullopt;
    } catch (const std::exception& error) {
      for (Write* write : batch) {
        if (write->kind == Write::Kind::accept) {
          write->result = Acceptance::unavailable;
        } else {
          carried_.push_back(*write);
          carried_.back().waiter = nullptr;  // its caller is woken with this batch
        }
      }
      return std::string(error.what());
    }
  }

  void write_outcome(const Write& write) {
    switch (write.kind) {
      case Write::Kind::complete: store_.mark_completed(write.id, write.at); break;
      case Write::Kind::retry:
        store_.schedule_retry(write.id, write.attempt, write.at, write.handlers);
        break;
      case Write::Kind::dead_letter:
        store_.mark_dead_letter(write.id, write.attempt, write.reason, write.at, write.handlers);
        break;
      case Write::Kind::accept: break;
    }
  }

  // Prunes (when `due`) and queues requeued dead letters. Returns true when a full prune
  // batch suggests there is more to prune.
  bool maintain(std::unique_lock<std::mutex>& lock, bool due) {
    adopt_requested_ = false;
    lock.unlock();

    std::size_t pruned = 0;
    std::vector<StoredEvent> adopted;
    std::vector<std::shared_ptr<const EventRecord>> records;
    std::optional<std::string> failure;
    if (due && !carried_.empty()) failure = write_batch({}, 0);
    try {
      store_.sync_commits(false);
      detail::sqlite::WriteTransaction transaction(store_.connection());
      if (due) {
        pruned = store_.prune_completed(limits_.clock() - limits_.dedupe_window,
                                        settings_.prune_batch);
      }
      adopted = store_.take_requeued();
      transaction.commit();
      for (const auto& stored : adopted) records.push_back(rebuild(stored));
    } catch (const std::exception& error) {
      failure = error.what();
      pruned = 0;
      adopted.clear();
      records.clear();
    }

    lock.lock();
    if (failure) last_error_ = *failure;
    const auto wall_now = limits_.clock();
    const auto now = SteadyClock::now();
    for (std::size_t i = 0; i < adopted.size(); ++i) {
      enqueue_stored(adopted[i], records[i], wall_now, now);
    }
    if (!adopted.empty()) ready_cv_.notify_all();
    return pruned == settings_.prune_batch;
  }

  const std::string path_;
  const Settings settings_;
  const Limits limits_;
  const EnvelopeParser parser_;
  detail::SqliteInboxStore store_;      // the committer's (and the constructor's) connection
  std::vector<Write> carried_;          // committer only: outcomes whose write failed

  mutable SqliteInboxFile file_;        // a second connection, for the operator's methods

  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;    // next() waiters
  std::condition_variable writes_cv_;   // the committer
  detail::DeliveryQueue queue_;
  std::unordered_set<std::string> held_;  // ids of unfinished events: ready, running, scheduled
  std::deque<Write*> accepts_;   // writes waiting for the committer, by kind
  std::deque<Write*> outcomes_;
  bool closed_ = false;
  bool stopping_ = false;
  bool adopt_requested_ = false;
  CommitStats commit_stats_;
  std::string last_error_;
  std::thread committer_;
};

}  // namespace allthings::webhooks
