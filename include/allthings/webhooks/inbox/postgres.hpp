#pragma once

// The shared inbox: several receiver processes (replicas behind a load balancer) on one
// PostgreSQL database share one queue, one dedupe memory and one dead-letter store. accept()
// returns only once the event is committed, so the 200 that follows means "in PostgreSQL". Not
// part of the umbrella header: only code that includes this one needs libpq (CMake target
// allthings::webhooks_postgres). docs/postgres.md describes it in depth.
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../detail/core/envelope_parser.hpp"
#include "../cursor_store.hpp"
#include "../detail/postgres/committer.hpp"
#include "../detail/postgres/cursors.hpp"
#include "../detail/postgres/inbox_setup.hpp"
#include "../detail/postgres/lease_keeper.hpp"
#include "../detail/postgres/listener.hpp"
#include "../detail/postgres/operator_tables.hpp"
#include "../detail/postgres/removal_tally.hpp"
#include "../detail/queue/stored_form.hpp"
#include "../event.hpp"
#include "../inbox.hpp"
#include "../options.hpp"
#include "operations.hpp"
#include "postgres_database.hpp"
#include "postgres_settings.hpp"

namespace allthings::webhooks {

// An Inbox whose state lives in PostgreSQL, shared by every replica that opens the same schema.
// - accept(): concurrent accepts share one transaction and one round trip (a multi-row insert);
//   the commit waits for the WAL on disk. The dedupe answer comes from a unique key on the
//   event id, so a duplicate that reaches any replica within dedupe_window is answered
//   `duplicate` and never runs twice. Database unreachable, restarting, too slow
//   (statement_timeout) or the connection lost mid-batch: `unavailable` (503, Retry-After).
// - next(): workers of every replica claim ready events with FOR UPDATE SKIP LOCKED, a lease
//   and a fresh lease token; the lease is renewed while the handler runs, and complete, retry
//   and dead letter apply only while the token is still theirs (fencing). A dead replica's
//   events run elsewhere once its leases end. With Options::serialize_by an event is claimed
//   only when no earlier unfinished event has its key, in any replica (orders_by_key()).
// - LISTEN/NOTIFY only hints that events are ready; polling every poll_interval always works.
// - close() gives back the leases of events claimed and not started; the destructor gives back
//   every lease still held.
// Reconnects by itself; no call waits longer than a round trip's bound (statement_timeout plus
// 2 s, or connect_timeout) or, for an outcome, the lease.
class PostgresInbox final : public Inbox, public InboxOperations, public CursorStore {
 public:
  using Settings = PostgresInboxSettings;

  // Connects, and creates the schema (settings.schema) when it is missing or empty. Throws
  // std::invalid_argument for invalid settings or an unparsable connection string (libpq's
  // key=value or URI form), and InboxStoreError naming the database and the problem when it is
  // unreachable or the schema is foreign or of a newer version (it is never altered).
  explicit PostgresInbox(std::string conninfo, Settings settings = Settings())
      : conninfo_(std::move(conninfo)),
        settings_(checked(std::move(settings), conninfo_)),
        sql_(settings_.schema),
        operator_session_(detail::pg::connect_settings(conninfo_, settings_, "operator"),
                          detail::pg::round_trip_timeout(settings_)),
        tables_(operator_session_, sql_) {
    detail::pg::open_schema(operator_session_, settings_.schema, /*create=*/true);
  }

  PostgresInbox(const PostgresInbox&) = delete;
  PostgresInbox& operator=(const PostgresInbox&) = delete;

  // Commits the accepts still waiting, writes the outcomes reported, gives back every lease.
  ~PostgresInbox() override {
    listener_.reset();
    committer_.reset();
    keeper_.reset();
  }

  // Takes queue_capacity, dedupe_window, clock, envelope and serialize_by from the receiver,
  // and starts committing, claiming and (unless poll_only) listening.
  void attach(const Options& options) override {
    std::lock_guard<std::mutex> lock(attach_mutex_);
    if (parser_) throw std::logic_error("PostgresInbox: already attached to a receiver");
    scheme_ = options.scheme(options);
    parser_.emplace(detail::envelope_for(*scheme_, options), options.max_json_depth);
    serialize_by_ = options.serialize_by;

    // The keeper tells the committer what it took out of the queue (the committer's estimate
    // of the queue's length spares most accept batches counting it).
    auto removals = std::make_shared<detail::pg::RemovalTally>();
    keeper_ = std::make_unique<detail::pg::LeaseKeeper>(session("lease", /*wait_for_disk=*/false),
                                                        sql_, settings_, settings_.replica_name,
                                                        removals);
    keeper_->start(options.clock, options.dedupe_window, options.workers,
                   [this](std::string id, std::string name, std::string raw_body,
                          HeaderList headers, detail::WallTime received_at) {
                     return detail::rebuild_record(*parser_, *scheme_, std::move(id), std::move(name),
                                                   std::move(raw_body), std::move(headers),
                                                   received_at);
                   });
    std::vector<detail::pg::Session> accept_sessions;
    for (std::size_t i = 0; i < settings_.accept_connections; ++i) {
      accept_sessions.push_back(session("accept"));
    }
    committer_ = std::make_unique<detail::pg::AcceptCommitter>(
        std::move(accept_sessions), sql_, settings_.max_batch, settings_.replica_name,
        std::move(removals));
    committer_->start({options.queue_capacity, options.dedupe_window, options.clock},
                      [this](std::int64_t lowest_seq) { keeper_->hint(lowest_seq); });
    if (!settings_.poll_only) {
      listener_ = std::make_unique<detail::pg::NotificationListener>(
          session("listen", true, /*pipeline=*/false), sql_.channel, settings_.replica_name,
          [this] { keeper_->hint(); });
    }
  }

  // A full queue is asked again once the completions reported before it are written: room a
  // returned complete() made is room, even before its pass committed. So is a remembered id
  // whose own completion was on its way: it may be past its dedupe window (other duplicates
  // are answered at once: under load some completion is nearly always on its way). What was
  // on its way is taken before asking: a pass may commit meanwhile.
  Acceptance accept(std::shared_ptr<const EventRecord> record) override {
    if (!committer_) return Acceptance::unavailable;  // not attached
    const auto key = serialize_key(record);
    bool own_completion = false;
    const auto on_its_way =
        keeper_->unwritten_mark(detail::pg::storable_key(record->id), own_completion);
    const auto answer = committer_->accept(*record, key);
    const bool may_change = answer == Acceptance::full ||
                            (answer == Acceptance::duplicate && own_completion);
    if (on_its_way == 0 || !may_change) return answer;
    keeper_->flush(on_its_way);
    return committer_->accept(*record, key);
  }

  std::optional<Delivery> next(std::chrono::milliseconds wait) override {
    return keeper_ ? keeper_->next(wait) : std::nullopt;
  }

  // Outcomes are written fenced by the lease token: an outcome of a worker whose lease another
  // replica took over is dropped. complete() returns once its completion is queued for the
  // next pass of the lease keeper (the lease is renewed until it is written); depth(), accept()
  // when full and the operator's methods first wait for the completions reported before.
  // retry_later() and dead_letter() return once committed, or after `lease` when the database
  // cannot take them; the inbox keeps trying meanwhile, and renews the lease.
  void complete(const Delivery& delivery) override { keeper_->complete(delivery); }
  void retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                   std::chrono::milliseconds delay) override {
    keeper_->retry_later(delivery, std::move(failed_handlers), delay);
  }
  void dead_letter(const Delivery& delivery, const std::string& reason) override {
    keeper_->dead_letter(delivery, reason);
  }

  // Events unfinished in the shared queue, whichever replica holds them; the last count read
  // when the database cannot be reached.
  std::size_t depth() const override {
    if (keeper_) keeper_->flush();
    std::lock_guard<std::mutex> lock(operator_mutex_);
    try {
      last_depth_ = tables_.count(StoredState::pending);
    } catch (const detail::pg::Error&) {
      // Keep the last count: depth() is asked for stats and while draining, never to decide.
    }
    return last_depth_;
  }

  void close() override {
    if (keeper_) keeper_->close();
  }

  // Nothing is lost: unfinished events stay in the database for any replica.
  std::vector<std::shared_ptr<const EventRecord>> take_unfinished() override { return {}; }

  bool orders_by_key() const override { return true; }

  // What /readyz and /metrics show of the database: whether the latest commit of accepted
  // events succeeded, and how long commits take and how many events each stored.
  bool writable() const override { return !committer_ || committer_->writable(); }
  std::optional<InboxCommitMetrics> commit_metrics() const override {
    if (!committer_) return std::nullopt;
    return committer_->commit_metrics();
  }

  // The operator's interface on this inbox's tables. A requeued event is claimed at once.
  std::vector<DeadLetter> dead_letters() override {
    return operate([&] { return tables_.dead_letters(); });
  }
  std::optional<StoredEvent> find(const std::string& id) override {
    return operate([&] { return tables_.find(id); });
  }
  std::size_t count(StoredState state) override {
    return operate([&] { return tables_.count(state); });
  }
  bool requeue(const std::string& id) override {
    const bool requeued = operate([&] { return tables_.requeue(id); });
    if (requeued && keeper_) keeper_->hint();
    return requeued;
  }
  std::size_t requeue_all() override {
    const auto requeued = operate([&] { return tables_.requeue_all(); });
    if (requeued > 0 && keeper_) keeper_->hint();
    return requeued;
  }

  // Cursors (a Reconciler's high-water mark) live in the inbox's schema, shared by every
  // replica; a save is committed when it returns. Throws InboxStoreError when the database
  // cannot be reached.
  std::optional<std::string> load_cursor(const std::string& key) override {
    return operate(
        [&] { return detail::pg::load_cursor(operator_session_, settings_.schema, key); });
  }
  void save_cursor(const std::string& key, const std::string& value) override {
    operate([&] {
      detail::pg::save_cursor(operator_session_, settings_.schema, key, value);
      return 0;
    });
  }

  PostgresInboxStats stats() const {
    PostgresInboxStats stats;
    if (committer_) stats = committer_->stats();
    if (keeper_) keeper_->add_stats(stats);
    return stats;
  }

  // Why the latest accept batch, claim or outcome pass failed (e.g. the server's message);
  // empty when none has.
  std::string last_error() const {
    std::string error = committer_ ? committer_->last_error() : std::string();
    if (error.empty() && keeper_) error = keeper_->last_error();
    return error;
  }

  const std::string& replica_name() const { return settings_.replica_name; }
  const std::string& schema() const { return settings_.schema; }

 private:
  static Settings checked(Settings settings, const std::string& conninfo) {
    detail::pg::check_conninfo(conninfo, "PostgresInbox");
    return detail::pg::checked(std::move(settings));
  }

  detail::pg::Session session(const std::string& role, bool wait_for_disk = true,
                              bool pipeline = true) const {
    return detail::pg::Session(
        detail::pg::connect_settings(conninfo_, settings_, role, wait_for_disk, pipeline),
        detail::pg::round_trip_timeout(settings_));
  }

  // The key is computed once, here, and stored with the event, so every replica orders by
  // the same key; a key function that throws must not lose the event (no key, then).
  std::string serialize_key(const std::shared_ptr<const EventRecord>& record) const {
    if (!serialize_by_) return {};
    try {
      return serialize_by_(Event(record, 1));
    } catch (...) {
      return {};
    }
  }

  template <class Query>
  auto operate(Query&& query) -> decltype(query()) {
    if (keeper_) keeper_->flush();  // what this replica completed is finished in the tables
    std::lock_guard<std::mutex> lock(operator_mutex_);
    try {
      return query();
    } catch (const detail::pg::Error& error) {
      throw InboxStoreError("PostgresInbox: schema \"" + settings_.schema + "\": " + error.what());
    }
  }

  const std::string conninfo_;
  const Settings settings_;
  const detail::pg::InboxSql sql_;

  mutable std::mutex operator_mutex_;
  mutable detail::pg::Session operator_session_;
  mutable detail::pg::OperatorTables tables_;
  mutable std::size_t last_depth_ = 0;

  std::mutex attach_mutex_;
  std::shared_ptr<const Scheme> scheme_;                        // set by attach()
  std::optional<detail::EnvelopeParser> parser_;                // set by attach()
  std::function<std::string(const Event&)> serialize_by_;       // set by attach()
  std::unique_ptr<detail::pg::LeaseKeeper> keeper_;             // set by attach()
  std::unique_ptr<detail::pg::AcceptCommitter> committer_;      // set by attach()
  std::unique_ptr<detail::pg::NotificationListener> listener_;  // set by attach()
};

}  // namespace allthings::webhooks
