#pragma once

// The durable inbox: accept() returns only once the event is committed to a SQLite database
// (WAL, synchronous=FULL), so the 200 that follows means "on disk". Not part of the umbrella
// header: only code that includes this one needs SQLite (CMake target
// allthings::webhooks_sqlite).
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/core/envelope_parser.hpp"
#include "../detail/queue/local_queue.hpp"
#include "../detail/queue/stored_form.hpp"
#include "../detail/sqlite/committer.hpp"
#include "../detail/sqlite/cursors.hpp"
#include "../detail/sqlite/schema.hpp"
#include "../cursor_store.hpp"
#include "../inbox.hpp"
#include "../options.hpp"
#include "../scheme.hpp"
#include "operations.hpp"
#include "sqlite_file.hpp"
#include "sqlite_settings.hpp"

namespace allthings::webhooks {

// An Inbox whose state lives in one SQLite file. accept() returns after the commit; concurrent
// accepts share one transaction and one fsync (see detail/sqlite/committer.hpp). Outcomes
// (complete, retry, dead letter) are appended to an outcome log next to the file (path +
// "-outcomes0" and "-outcomes1") and folded into the next commit, so a worker never waits for
// one. When attached, every event accepted and not finished, also those that were running when
// the process died, is queued again, with retry times kept. Completed events are remembered
// for the dedupe window, then pruned in the background. Dead letters stay on disk until
// requeued. One SqliteInbox per file at a time (a second one fails at construction); other
// processes may inspect it and requeue dead letters through SqliteInboxFile meanwhile, and see
// outcomes once committed (within maintenance_interval).
class SqliteInbox final : public Inbox, public InboxOperations, public CursorStore {
 public:
  using Settings = SqliteInboxSettings;

  // Opens or creates the inbox at `path`. Throws std::invalid_argument for invalid settings
  // and InboxStoreError naming the path and the problem when the file is unreadable,
  // read-only, corrupt, not SQLite, not an inbox, or open in another SqliteInbox.
  explicit SqliteInbox(std::string path, Settings settings = {})
      : path_(std::move(path)),
        settings_(checked(settings)),
        committer_(std::make_unique<detail::SqliteCommitter>(path_, settings_)),
        file_(path_, settings_.busy_timeout) {}

  SqliteInbox(const SqliteInbox&) = delete;
  SqliteInbox& operator=(const SqliteInbox&) = delete;

  ~SqliteInbox() override {
    queue_.close();
    committer_.reset();  // commits what is waiting, then stops
  }

  // Takes queue_capacity, dedupe_window, clock and the scheme (how bodies are read) from the
  // receiver, and queues what is pending on disk.
  void attach(const Options& options) override {
    std::lock_guard<std::mutex> lock(attach_mutex_);
    if (parser_) throw std::logic_error("SqliteInbox: already attached to a receiver");
    scheme_ = options.scheme(options);
    parser_.emplace(detail::envelope_for(*scheme_, options), options.max_json_depth);
    clock_ = options.clock;
    committer_->start({options.queue_capacity, options.dedupe_window, options.clock}, queue_,
                      [this](const StoredEvent& stored) { return rebuild(stored); });
  }

  Acceptance accept(std::shared_ptr<const EventRecord> record) override {
    return committer_->accept(std::move(record));
  }

  std::optional<Delivery> next(std::chrono::milliseconds wait) override {
    return queue_.next(wait);
  }

  // Outcomes return once the outcome log (or, when it cannot take them, a commit) has them,
  // so an event finished before its process died does not run again. Neither the log nor
  // their commits wait for an fsync (only accepts need one): after a power loss, an event
  // finished moments before may run again (never one acknowledged is lost).
  void complete(const Delivery& delivery) override {
    finish(delivery, outcome(detail::Outcome::Kind::complete, delivery));
  }

  void dead_letter(const Delivery& delivery, const std::string& reason) override {
    auto dead = outcome(detail::Outcome::Kind::dead_letter, delivery);
    dead.reason = reason;
    finish(delivery, dead);
  }

  void retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                   std::chrono::milliseconds delay) override {
    if (!queue_.holds(*delivery.record)) return;
    auto retry = outcome(detail::Outcome::Kind::retry, delivery);
    retry.attempt = delivery.attempt + 1;
    retry.handlers = failed_handlers;
    retry.at += delay;  // persisted on the wall clock, so the back-off survives a restart
    // Recorded before the next attempt can start, so one event's outcomes keep their order.
    committer_->record_outcome(retry);
    queue_.retry_later(delivery, std::move(failed_handlers), delay);
  }

  std::size_t depth() const override { return queue_.depth(); }

  void close() override { queue_.close(); }

  // Nothing is lost: unfinished events stay on disk and run again at the next start.
  std::vector<std::shared_ptr<const EventRecord>> take_unfinished() override { return {}; }

  // The operator's interface on this inbox's file, after every outcome reported so far is
  // committed. A requeued event is queued at once.
  std::vector<DeadLetter> dead_letters() override {
    committer_->commit_outcomes();
    return file_.dead_letters();
  }
  std::optional<StoredEvent> find(const std::string& id) override {
    committer_->commit_outcomes();
    return file_.find(id);
  }
  std::size_t count(StoredState state) override {
    committer_->commit_outcomes();
    return file_.count(state);
  }
  bool requeue(const std::string& id) override {
    committer_->commit_outcomes();
    const bool requeued = file_.requeue(id);
    if (requeued) committer_->request_adoption();
    return requeued;
  }
  std::size_t requeue_all() override {
    committer_->commit_outcomes();
    const auto requeued = file_.requeue_all();
    if (requeued > 0) committer_->request_adoption();
    return requeued;
  }

  // Cursors (a Reconciler's high-water mark) live in the same file, in a table of their own
  // written on a connection of their own: a save is committed (synchronous=FULL) when it
  // returns. Throws InboxStoreError naming the file when it cannot be read or written.
  std::optional<std::string> load_cursor(const std::string& key) override {
    return with_cursor_connection([&](detail::sqlite::Connection& db) {
      return detail::load_cursor(db, key);
    });
  }
  void save_cursor(const std::string& key, const std::string& value) override {
    with_cursor_connection([&](detail::sqlite::Connection& db) {
      detail::save_cursor(db, key, value);
      return 0;
    });
  }

  CommitStats commit_stats() const { return committer_->stats(); }

  // False while the latest commit or maintenance failed (last_error() says why).
  bool writable() const override { return committer_->writable(); }

  // Durations and sizes of the commits so far (Receiver::metrics() and /metrics report them).
  std::optional<InboxCommitMetrics> commit_metrics() const override {
    return committer_->commit_metrics();
  }

  // Why the latest write or maintenance failed (e.g. "database or disk is full"); empty when
  // none has failed.
  std::string last_error() const { return committer_->last_error(); }

  const std::string& path() const { return path_; }

 private:
  static Settings checked(const Settings& settings) {
    auto require = [](bool condition, const char* message) {
      if (!condition) throw std::invalid_argument(std::string("SqliteInboxSettings.") + message);
    };
    require(settings.max_batch > 0, "max_batch must be at least 1");
    require(settings.prune_batch > 0, "prune_batch must be at least 1");
    require(settings.maintenance_interval.count() > 0, "maintenance_interval must be positive");
    return settings;
  }

  detail::Outcome outcome(detail::Outcome::Kind kind, const Delivery& delivery) const {
    detail::Outcome outcome;
    outcome.kind = kind;
    outcome.id = delivery.record->id;
    outcome.attempt = delivery.attempt;
    outcome.handlers = delivery.pending_handlers;
    outcome.at = clock_();
    return outcome;
  }

  void finish(const Delivery& delivery, const detail::Outcome& outcome) {
    if (queue_.finish(*delivery.record)) committer_->record_outcome(outcome);
  }

  template <class Use>
  auto with_cursor_connection(Use&& use)
      -> decltype(use(std::declval<detail::sqlite::Connection&>())) {
    std::lock_guard<std::mutex> lock(cursor_mutex_);
    try {
      if (!cursor_db_) {
        cursor_db_.emplace(detail::open_inbox_database(
            path_, {settings_.busy_timeout, 0, /*check_integrity=*/false,
                    /*create_if_missing=*/false}));
      }
      return use(*cursor_db_);
    } catch (const detail::sqlite::Error& error) {
      throw detail::inbox_file_error(path_, std::string("cursors: ") + error.what());
    }
  }

  std::shared_ptr<const EventRecord> rebuild(const StoredEvent& stored) const {
    return detail::rebuild_record(*parser_, *scheme_, stored.id, stored.name, stored.raw_body,
                                  stored.headers, stored.received_at);
  }

  const std::string path_;
  const Settings settings_;
  // Before the committer, whose thread pushes into it. The database holds an id once.
  detail::LocalQueue queue_{detail::LocalQueue::Ids::once};
  std::unique_ptr<detail::SqliteCommitter> committer_;
  SqliteInboxFile file_;  // a second connection, for the operator's methods
  std::mutex cursor_mutex_;
  std::optional<detail::sqlite::Connection> cursor_db_;  // opened by the first cursor call
  std::mutex attach_mutex_;
  std::shared_ptr<const Scheme> scheme_;          // set by attach()
  std::optional<detail::EnvelopeParser> parser_;  // set by attach()
  Clock clock_;                                   // set by attach()
};

}  // namespace allthings::webhooks
