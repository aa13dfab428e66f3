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

#include "../detail/queue/delivery_queue.hpp"
#include "../detail/sqlite/outcome_log.hpp"
#include "../detail/sqlite/connection.hpp"
#include "../detail/sqlite/schema.hpp"
#include "../detail/sqlite/store.hpp"
#include "../detail/core/envelope_parser.hpp"
#include "../inbox.hpp"
#include "../options.hpp"

namespace allthings::webhooks {

struct SqliteInboxSettings {
  // How long a write waits for another connection's lock before accept() answers
  // `unavailable` (503).
  std::chrono::milliseconds busy_timeout{1000};
  // Accepts that arrive while a commit is under way share the next transaction and fsync.
  // Waiting this much longer for company before each commit trades latency for larger
  // batches; zero waits for nobody.
  std::chrono::microseconds group_commit_window{0};
  // Most accepts in one transaction; also, once this many outcomes are logged with no accepts
  // to commit them with, they get a commit of their own.
  std::size_t max_batch = 512;
  // How often completed events past the dedupe window are pruned, dead letters requeued by
  // another process (e.g. the dead_letters tool) are picked up, and logged outcomes are
  // committed when no accepts came to carry them.
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
// and commits them together). Outcomes (complete, retry, dead letter) are appended to an
// outcome log next to the file (path + "-outcomes0" and "-outcomes1", see
// detail/outcome_log.hpp) and folded into the next commit, so a worker never waits for one.
// On construction, the outcome log is applied, then every event accepted and not finished,
// also those that were running when the process died, is queued again, with retry times kept.
// Completed events are remembered for the dedupe window, then pruned in the background. Dead
// letters stay on disk until requeued. One SqliteInbox per file at a time (a second one fails
// at construction); other processes may inspect it and requeue dead letters through
// SqliteInboxFile meanwhile, and see outcomes once committed (within maintenance_interval).
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
        file_(path_, settings_.busy_timeout),
        log_(detail::OutcomeLog::base_for(path_)) {
    apply_logged_outcomes();
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
    write.headers_json = detail::SqliteInboxStore::headers_to_json(record->headers);
    write.record = std::move(record);
    std::unique_lock<std::mutex> lock(mutex_);
    submit(write, lock);
    return write.result;
  }

  std::optional<Delivery> next(std::chrono::milliseconds wait) override {
    std::unique_lock<std::mutex> lock(mutex_);
    return queue_.wait_next(lock, ready_cv_, wait, [this] { return closed_; });
  }

  // Outcomes return once the outcome log (or, when it cannot take them, a commit) has them,
  // so an event finished before its process died does not run again. Neither the log nor
  // their commits wait for an fsync (only accepts need one): after a power loss, an event
  // finished moments before may run again (never one acknowledged is lost).
  void complete(const Delivery& delivery) override {
    finish(outcome(detail::Outcome::Kind::complete, delivery));
  }

  void dead_letter(const Delivery& delivery, const std::string& reason) override {
    auto dead = outcome(detail::Outcome::Kind::dead_letter, delivery);
    dead.reason = reason;
    finish(std::move(dead));
  }

  void retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                   std::chrono::milliseconds delay) override {
    auto retry = outcome(detail::Outcome::Kind::retry, delivery);
    retry.attempt = delivery.attempt + 1;
    retry.handlers = failed_handlers;
    retry.at += delay;  // persisted on the wall clock, so the back-off survives a restart
    std::unique_lock<std::mutex> lock(mutex_);
    if (held_.count(delivery.record->id) == 0) return;
    // Recorded before the next attempt can start, so one event's outcomes keep their order.
    record_outcome(retry, lock);
    queue_.schedule(SteadyClock::now() + delay,
                    Delivery{delivery.record, delivery.attempt + 1, std::move(failed_handlers)});
    ready_cv_.notify_all();  // a waiter may now have to wake earlier
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

  // The SqliteInboxFile operations on this inbox's file, after every outcome reported so far
  // is committed. A requeued event is queued at once.
  std::vector<DeadLetter> dead_letters() const {
    commit_outcomes();
    return file_.dead_letters();
  }
  std::optional<StoredEvent> find(const std::string& id) const {
    commit_outcomes();
    return file_.find(id);
  }
  std::size_t count(StoredState state) const {
    commit_outcomes();
    return file_.count(state);
  }
  bool requeue(const std::string& id) {
    commit_outcomes();
    const bool requeued = file_.requeue(id);
    if (requeued) request_adoption();
    return requeued;
  }
  std::size_t requeue_all() {
    commit_outcomes();
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
    // accept: store `record`. outcome: one the outcome log could not take. flush: commit the
    // outcomes logged so far.
    enum class Kind { accept, outcome, flush };
    Kind kind = Kind::accept;
    std::shared_ptr<const EventRecord> record;  // accept
    std::string headers_json;                   // accept: made here, not on the committer
    detail::Outcome outcome;                    // outcome
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

  detail::Outcome outcome(detail::Outcome::Kind kind, const Delivery& delivery) const {
    detail::Outcome outcome;
    outcome.kind = kind;
    outcome.id = delivery.record->id;
    outcome.attempt = delivery.attempt;
    outcome.handlers = delivery.pending_handlers;
    outcome.at = limits_.clock();
    return outcome;
  }

  void finish(const detail::Outcome& outcome) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (held_.erase(outcome.id) == 0) return;
    // A finished event has no later outcome to keep in order with, so its write() need not
    // hold up the HTTP threads waiting for mutex_.
    lock.unlock();
    record_outcome(outcome, lock);
  }

  // Appends the outcome to the log, or, when the log cannot take it (disk full, a record too
  // large), commits it and waits. `lock` is on mutex_; if held on entry, it is held on return.
  // Once this returns the outcome survives a kill of the process, unless the commit failed
  // too: then it is kept in memory and retried with every commit (last_error() says why), and
  // a kill runs the event again.
  void record_outcome(const detail::Outcome& outcome, std::unique_lock<std::mutex>& lock) {
    std::size_t logged = 0;
    const bool appended = log_.append(outcome, &logged);
    // Commits fold logged outcomes in as they go; without accepts to commit, a full batch of
    // them calls for a commit of its own.
    if (appended && logged != settings_.max_batch) return;
    if (!lock.owns_lock()) lock.lock();
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

  // Returns once every outcome reported before the call is committed (or the commit failed).
  void commit_outcomes() const {
    Write write;
    write.kind = Write::Kind::flush;
    std::unique_lock<std::mutex> lock(mutex_);
    submit(write, lock);
  }

  // Queues the write behind those of its kind already waiting (so outcomes for one event land
  // in the order they were made; its accept was committed before it could have any) and waits
  // until it is committed or has failed.
  void submit(Write& write, std::unique_lock<std::mutex>& lock) const {
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

  // Outcomes logged by an earlier run and not yet in the database (it may have been killed
  // between the two) are applied before anything is queued, so a finished event stays finished.
  void apply_logged_outcomes() {
    try {
      const auto logged = log_.read_all();
      auto last_seq = store_.applied_outcome_seq();
      detail::sqlite::WriteTransaction transaction(store_.connection());
      for (const auto& entry : logged) {
        if (entry.seq <= last_seq) continue;  // already applied before the log was emptied
        store_.apply(entry.outcome);
        last_seq = entry.seq;
      }
      store_.set_applied_outcome_seq(last_seq);
      transaction.commit();
      log_.reset(last_seq);
    } catch (const detail::sqlite::Error& error) {
      throw detail::InboxFileError(path_, detail::inbox_file::describe_read_failure(error));
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
    // Only this thread adds to held_, so the room can only grow while the batch is written.
    const std::size_t room =
        limits_.queue_capacity > held_.size() ? limits_.queue_capacity - held_.size() : 0;
    lock.unlock();
    // Taken after the writes: an outcome logged before a flush was submitted is in this batch.
    carried_.merge(log_.take());
    const bool writes_something =
        !carried_.outcomes.empty() || std::any_of(batch.begin(), batch.end(), [](Write* write) {
          return write->kind != Write::Kind::flush;
        });
    const auto failure = writes_something ? write_batch(batch, room) : std::nullopt;
    lock.lock();

    if (failure) {
      last_error_ = *failure;
    } else if (writes_something) {
      std::uint64_t stored = 0;
      bool wake = false;
      for (Write* write : batch) {
        if (write->kind != Write::Kind::accept || write->result != Acceptance::accepted) continue;
        held_.insert(write->record->id);
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
      detail::sqlite::WriteTransaction transaction(store_.connection());
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
    std::vector<StoredEvent> adopted;
    std::vector<std::shared_ptr<const EventRecord>> records;
    std::optional<std::string> failure;
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

  // Outcomes the committer has yet to commit: those taken from the log (with the sequence
  // number of the newest) and those of a failed transaction.
  struct CarriedOutcomes {
    std::vector<detail::LoggedOutcome> outcomes;
    std::uint64_t last_seq = 0;  // 0: none from the log

    void merge(std::vector<detail::LoggedOutcome> logged) {
      if (logged.empty()) return;
      last_seq = logged.back().seq;
      outcomes.insert(outcomes.end(), std::make_move_iterator(logged.begin()),
                      std::make_move_iterator(logged.end()));
    }
  };

  const std::string path_;
  const Settings settings_;
  const Limits limits_;
  const EnvelopeParser parser_;
  detail::SqliteInboxStore store_;      // the committer's (and the constructor's) connection
  CarriedOutcomes carried_;             // committer only

  mutable SqliteInboxFile file_;        // a second connection, for the operator's methods
  detail::OutcomeLog log_;

  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;            // next() waiters
  mutable std::condition_variable writes_cv_;   // the committer
  detail::DeliveryQueue queue_;
  std::unordered_set<std::string> held_;  // ids of unfinished events: ready, running, scheduled
  // Writes waiting for the committer, by kind: accepts, and outcomes and flushes.
  mutable std::deque<Write*> accepts_;
  mutable std::deque<Write*> outcomes_;
  bool closed_ = false;
  bool stopping_ = false;
  bool adopt_requested_ = false;
  bool log_full_ = false;  // a full batch of outcomes is logged
  CommitStats commit_stats_;
  std::string last_error_;
  std::thread committer_;
};

}  // namespace allthings::webhooks
