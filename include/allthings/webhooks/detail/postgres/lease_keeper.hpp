#pragma once

// Everything a replica does with leases, on one thread with its own connection: it claims ready
// events for the workers waiting in next(), renews the leases of the events it holds while
// their handlers run, writes the workers' outcomes fenced by lease token, gives back the leases
// it will not use, and prunes remembered ids. Each pass is one round trip (pipeline mode) and
// one transaction: the outcomes written, the leases renewed and the events claimed in a pass
// share it. Handlers never run inside it: an event is handed out only after its claim
// committed.
//
// These transactions commit without waiting for the WAL to reach the disk
// (synchronous_commit = off): a crash of the database server itself (not a restart, not a
// crash of a replica) may lose the last fraction of a second of them, so an event that had
// finished may run again, and one that had been claimed may be claimed again; its first
// claimant's outcome is then fenced off. Accepts never take that shortcut.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../../inbox.hpp"
#include "../../inbox/postgres_settings.hpp"
#include "../../options.hpp"
#include "../process/thread_name.hpp"
#include "../queue/stored_form.hpp"
#include "removal_tally.hpp"
#include "session.hpp"
#include "statements.hpp"

namespace allthings::webhooks::detail::pg {

class LeaseKeeper {
 public:
  // Makes a record to run from a claimed row: id, name, body, headers (JSON), received at.
  using Rebuild = std::function<std::shared_ptr<const EventRecord>(
      std::string id, std::string name, std::string raw_body, HeaderList headers,
      WallTime received_at)>;

  // `removals` hears of the events this keeper takes out of the queue.
  LeaseKeeper(Session session, const InboxSql& sql, const PostgresInboxSettings& settings,
              std::string replica, std::shared_ptr<RemovalTally> removals)
      : session_(std::move(session)),
        sql_(sql),
        settings_(settings),
        replica_(std::move(replica)),
        removals_(std::move(removals)),
        random_(std::random_device{}()) {}

  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Writes the outcomes still queued, gives back every lease still held, and stops. By then no
  // worker uses this keeper: workers keep the inbox alive.
  ~LeaseKeeper() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      closed_ = true;
    }
    keeper_cv_.notify_all();
    workers_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // `dedupe_window` and `clock` decide which remembered ids are pruned; `workers` how many
  // events a claim may take ahead of the workers waiting.
  void start(Clock clock, std::chrono::seconds dedupe_window, std::size_t workers,
             Rebuild rebuild) {
    std::lock_guard<std::mutex> lock(mutex_);
    clock_ = std::move(clock);
    workers_ = workers;
    dedupe_window_ = dedupe_window;
    rebuild_ = std::move(rebuild);
    thread_ = std::thread([this] {
      name_this_thread("aw-pg-lease");
      keep();
    });
  }

  // The next claimed delivery, waiting up to `wait` while the keeper claims: at once when
  // events may be ready (a hint: a commit of this replica, a NOTIFY, a requeue, a claim that
  // got all it asked for, a retry due), otherwise at its next poll. When a claim is coming,
  // next() waits for its answer even past `wait` (so next(0ms) sees an event this replica
  // just committed), but never longer than a round trip may take. nullopt on time-out or
  // once closed.
  std::optional<Delivery> next(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (closed_) return std::nullopt;
    const auto now = SteadyClock::now();
    const auto deadline = now + wait;
    const auto answer_by = now + round_trip_limit();
    const bool claim_coming = hinted_ || claim_in_flight_ || (retry_due_ && now >= *retry_due_);
    // A claim under way was sized before this worker asked: wait for the one after it.
    const auto round_wanted = claim_rounds_done_ + (claim_in_flight_ ? 2 : 1);
    ++waiting_workers_;
    keeper_cv_.notify_one();  // more demand: the keeper may claim now
    for (;;) {
      if (!ready_.empty()) {
        Delivery delivery = std::move(ready_.front());
        ready_.pop_front();
        --waiting_workers_;
        return delivery;
      }
      const auto at = SteadyClock::now();
      const bool answered = !claim_coming || claim_rounds_done_ >= round_wanted || at >= answer_by;
      if (closed_ || (answered && at >= deadline)) {
        --waiting_workers_;
        return std::nullopt;
      }
      workers_cv_.wait_until(lock, answered ? deadline : std::max(deadline, answer_by));
    }
  }

  // Outcomes. complete() returns once the completion is queued for the keeper's next pass,
  // while at most `unwritten_completions` outcomes are queued: a worker that waited for its
  // commit would give each pass at most one completion per worker, and passes, not events,
  // are what the database spends most on. Until that pass commits, the event stays leased and
  // renewed: a crash of this replica meanwhile runs it again, as a crash while the handler ran
  // would. The bound keeps what a crash repeats to `workers` + `unwritten_completions`
  // events, running or finished (a handler or a waiting completion per worker, and the
  // returned completions), as long as the database answers: one that does not releases a
  // waiting worker after `lease`.
  // retry_later() and dead_letter() return once committed. Each
  // returns, when the database cannot take it, after `lease` at the latest (the keeper goes on
  // trying meanwhile, renewing the lease): a worker never waits forever.
  void complete(const Delivery& delivery) { write(make_outcome(Kind::complete, delivery)); }

  void retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                   std::chrono::milliseconds delay) {
    auto outcome = make_outcome(Kind::retry, delivery);
    outcome->attempt = delivery.attempt + 1;
    outcome->handlers = std::move(failed_handlers);
    outcome->delay = delay;
    write(outcome);
  }

  void dead_letter(const Delivery& delivery, const std::string& reason) {
    auto outcome = make_outcome(Kind::dead_letter, delivery);
    outcome->reason = reason;
    write(outcome);
  }

  // The outcomes reported so far and not all written yet, as a mark for flush(mark); 0 when
  // every one is written. `own` says whether one of them is event `id`'s (as stored).
  std::uint64_t unwritten_mark(const std::string& id, bool& own) const {
    std::lock_guard<std::mutex> lock(mutex_);
    own = false;
    if (outcomes_written_ >= outcomes_reported_) return 0;
    own = std::any_of(held_.begin(), held_.end(), [&](const auto& entry) {
      return entry.second.writing && entry.second.record->id == id;
    });
    return outcomes_reported_;
  }

  // Waits until the outcomes up to `mark` (every one reported so far, by default) are
  // written, or at most as long as one round trip may take (the database may be away: depth()
  // and /readyz must not hang): what a reader of the tables sees afterwards includes the
  // completions that complete() no longer waits for.
  void flush(std::optional<std::uint64_t> mark = std::nullopt) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto reported = mark.value_or(outcomes_reported_);
    outcome_cv_.wait_for(lock, round_trip_limit(),
                         [&] { return outcomes_written_ >= reported || stopping_; });
  }

  // Events may be ready from seq `from_seq` on: a commit of this replica says where its batch
  // begins (it may have committed after a batch with higher seqs); a NOTIFY of another replica
  // or a requeue may concern any event, so the next claim looks from the start (0).
  void hint(std::int64_t from_seq = 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    hinted_ = true;
    lower_floor(from_seq);
    keeper_cv_.notify_one();
  }

  // No more claims; next() returns nullopt from now on, and the leases of the events claimed
  // but not handed out are given back at once. Handed-out events keep their leases (renewed)
  // until their outcomes are written.
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (auto& delivery : ready_) give_back(delivery.record.get());
    ready_.clear();
    keeper_cv_.notify_one();
    workers_cv_.notify_all();
  }

  void add_stats(PostgresInboxStats& stats) const {
    std::lock_guard<std::mutex> lock(mutex_);
    stats.claims += stats_.claims;
    stats.outcomes += stats_.outcomes;
    stats.fenced_outcomes += stats_.fenced_outcomes;
    stats.leases_lost += stats_.leases_lost;
    stats.reconnects += reconnects_;
  }

  std::string last_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_error_;
  }

 private:
  enum class Kind { complete, retry, dead_letter };

  // An outcome for the keeper to write. Shared with the worker, which may stop waiting.
  struct Outcome {
    Kind kind = Kind::complete;
    const EventRecord* claim = nullptr;  // key of `held_`
    std::string id;
    std::int64_t token = 0;
    int attempt = 0;
    std::vector<std::size_t> handlers;
    std::chrono::milliseconds delay{0};
    std::string reason;
    WallTime at;
    bool done = false;
  };

  // A lease this replica holds: an event claimed, handed out or not, until its outcome is
  // written or its lease is given back. Keyed by the record made for the claim, so a stale
  // delivery (whose lease another claim replaced) can never use a newer claim's token.
  struct Held {
    std::shared_ptr<const EventRecord> record;
    std::int64_t token = 0;
    std::int64_t seq = 0;
    bool keyed = false;  // it has a serialize key
    // Its outcome is queued. It is still renewed until the outcome is written (writing may take
    // long while the database is away), but a renewal that fails no longer means a loss: the
    // outcome itself may have removed the row.
    bool writing = false;
  };

  // What one pass sends.
  struct Pass {
    std::vector<std::shared_ptr<Outcome>> outcomes;
    std::vector<std::pair<std::string, std::int64_t>> renew;  // id, token
    std::vector<std::pair<std::string, std::int64_t>> give_back;
    std::vector<const EventRecord*> renewed_claims;
    std::size_t claim = 0;
    std::int64_t claim_token = 0;
    std::int64_t claim_floor = 0;  // the claim looks at events from this seq on
    SteadyClock::time_point began{};  // before its transaction began
  };

  // Everything a pass's answers say, applied under the lock.
  struct Answers {
    std::vector<std::string> claimed_ids;
    std::vector<std::shared_ptr<const EventRecord>> records;
    std::vector<int> attempts;
    std::vector<std::vector<std::size_t>> handlers;
    std::vector<std::int64_t> seqs;
    std::vector<bool> keyed;
    std::vector<bool> outcome_applied;
    std::vector<std::string> renewed;
  };

  static constexpr std::chrono::milliseconds failure_pause{100};

  std::chrono::milliseconds round_trip_limit() const {
    return settings_.statement_timeout +
           std::chrono::duration_cast<std::chrono::milliseconds>(settings_.connect_timeout) +
           std::chrono::seconds(2);
  }

  std::shared_ptr<Outcome> make_outcome(Kind kind, const Delivery& delivery) const {
    auto outcome = std::make_shared<Outcome>();
    outcome->kind = kind;
    outcome->claim = delivery.record.get();
    outcome->id = delivery.record->id;
    outcome->attempt = delivery.attempt;
    outcome->handlers = delivery.pending_handlers;
    outcome->at = clock_();
    return outcome;
  }

  void write(const std::shared_ptr<Outcome>& outcome) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto held = held_.find(outcome->claim);
    if (held == held_.end()) return;  // not a delivery of ours (any more)
    held->second.writing = true;
    outcome->token = held->second.token;
    outcomes_.push_back(outcome);
    ++outcomes_reported_;
    keeper_cv_.notify_one();
    if (outcome->kind == Kind::complete) {
      outcome_cv_.wait_for(lock, settings_.lease, [&] {
        return outcome->done || stopping_ ||
               outcomes_reported_ - outcomes_written_ <= settings_.unwritten_completions;
      });
      return;
    }
    outcome_cv_.wait_for(lock, settings_.lease, [&] { return outcome->done || stopping_; });
  }

  // Caller holds mutex_.
  void give_back(const EventRecord* claim) {
    const auto held = held_.find(claim);
    if (held == held_.end()) return;
    give_back_.emplace_back(held->second.record->id, held->second.token);
    held_.erase(held);
  }

  // Caller holds mutex_. The next claim starts at `seq` or lower.
  void lower_floor(std::int64_t seq) {
    lowered_floor_ = lowered_floor_ ? std::min(*lowered_floor_, seq) : seq;
  }

  std::size_t demand() const {
    return waiting_workers_ > ready_.size() ? waiting_workers_ - ready_.size() : 0;
  }

  // The keeper thread.
  void keep() {
    auto next_renewal = SteadyClock::now() + settings_.heartbeat_interval;
    auto next_poll = SteadyClock::now();
    auto next_maintenance = SteadyClock::now() + settings_.maintenance_interval;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      const auto wants_claim = [&](SteadyClock::time_point now) {
        return !closed_ && demand() > 0 &&
               (hinted_ || now >= next_poll || (retry_due_ && now >= *retry_due_));
      };
      auto wake = std::min(next_renewal, next_maintenance);
      if (!closed_ && demand() > 0) {
        wake = std::min(wake, next_poll);
        if (retry_due_) wake = std::min(wake, *retry_due_);
      }
      // After a failed pass the keeper waits a little before the next, rather than spinning
      // against a database that is down.
      const auto quiet_until = last_failure_ + failure_pause;
      wake = std::max(wake, quiet_until);
      keeper_cv_.wait_until(lock, wake, [&] {
        const auto at = SteadyClock::now();
        return stopping_ || (at >= quiet_until &&
                             (!outcomes_.empty() || !give_back_.empty() || wants_claim(at)));
      });
      const auto now = SteadyClock::now();
      if (stopping_) {
        // The last pass: outcomes, then every lease back.
        for (auto& [claim, held] : held_) give_back_.emplace_back(held.record->id, held.token);
        held_.clear();
        ready_.clear();
        Pass last;
        last.outcomes.assign(outcomes_.begin(), outcomes_.end());
        outcomes_.clear();
        last.give_back.swap(give_back_);
        lock.unlock();
        std::string failure;
        if (!last.outcomes.empty() || !last.give_back.empty()) run_pass(last, failure);
        lock.lock();
        for (auto& outcome : last.outcomes) outcome->done = true;
        outcomes_written_ += last.outcomes.size();
        outcome_cv_.notify_all();
        return;
      }

      Pass pass;
      pass.began = now;
      pass.outcomes.assign(outcomes_.begin(), outcomes_.end());
      outcomes_.clear();
      pass.give_back.swap(give_back_);
      if (now >= next_renewal) {
        for (const auto& [claim, held] : held_) {
          // Not those whose outcome this very pass writes.
          const bool in_pass = std::any_of(
              pass.outcomes.begin(), pass.outcomes.end(),
              [&, claim = claim](const auto& outcome) { return outcome->claim == claim; });
          if (in_pass) continue;
          pass.renew.emplace_back(held.record->id, held.token);
          pass.renewed_claims.push_back(claim);
        }
        next_renewal = now + settings_.heartbeat_interval;
      }
      if (wants_claim(now)) {
        // For the workers waiting, and as many again for those about to ask: a pass then
        // carries several outcomes and claims, and a worker finds its next event waiting.
        pass.claim = last_claim_full_ ? settings_.claim_batch
                                      : std::min(demand() + workers_, settings_.claim_batch);
        pass.claim_token = fresh_token();
        const bool retry_now_due = retry_due_ && now >= *retry_due_;
        if (retry_now_due || now >= next_claim_from_start_) {
          next_claim_from_start_ = now + settings_.poll_interval;
        } else {
          pass.claim_floor = std::min(claim_floor_, lowered_floor_.value_or(claim_floor_));
        }
        lowered_floor_.reset();
        hinted_ = false;
        if (retry_now_due) retry_due_.reset();
        next_poll = now + settings_.poll_interval;
        claim_in_flight_ = true;
      }
      lock.unlock();
      std::string failure;
      const Answers answers = run_pass(pass, failure);
      lock.lock();
      apply(pass, answers, failure);
      if (!failure.empty()) last_failure_ = SteadyClock::now();
      if (now >= next_maintenance) {
        lock.unlock();
        const bool more = prune();
        lock.lock();
        next_maintenance = more ? now : now + settings_.maintenance_interval;
      }
    }
  }

  std::int64_t fresh_token() {
    // Positive and random: unique across replicas for every practical purpose, and never 0.
    return static_cast<std::int64_t>((random_() >> 1) | 1);
  }

  // Runs one pass as one round trip. When it fails, nothing of it was committed: `failure`
  // says why and the answers are empty.
  Answers run_pass(const Pass& pass, std::string& failure) {
    std::vector<Statement> round;
    std::vector<std::string_view> complete_ids;
    std::vector<std::int64_t> complete_tokens;
    for (const auto& outcome : pass.outcomes) {
      if (outcome->kind != Kind::complete) continue;
      complete_ids.push_back(outcome->id);
      complete_tokens.push_back(outcome->token);
    }
    if (!complete_ids.empty()) {
      round.push_back({"aw_complete", sql_.complete,
                       Params()
                           .text_array(complete_ids)
                           .int8_array(complete_tokens)
                           .int8(to_millis(clock_()))});
    }
    // Per outcome: the statement whose rows say whether it was applied.
    std::vector<std::size_t> outcome_statement(pass.outcomes.size(), 0);
    for (std::size_t i = 0; i < pass.outcomes.size(); ++i) {
      const auto& outcome = *pass.outcomes[i];
      if (outcome.kind == Kind::complete) continue;
      outcome_statement[i] = round.size();
      const auto handlers = handlers_to_json(outcome.handlers);
      if (outcome.kind == Kind::retry) {
        round.push_back({"aw_retry", sql_.retry,
                         Params()
                             .text(outcome.id)
                             .int8(outcome.token)
                             .int8(outcome.attempt)
                             .text(handlers)
                             .int8(outcome.delay.count())});
      } else {
        round.push_back({"aw_dead_letter", sql_.dead_letter,
                         Params()
                             .text(outcome.id)
                             .int8(outcome.token)
                             .int8(outcome.attempt)
                             .text(handlers)
                             .text(outcome.reason)
                             .int8(to_millis(outcome.at))});
      }
    }
    if (!pass.give_back.empty()) {
      const auto [ids, tokens] = split(pass.give_back);
      round.push_back({"aw_release", sql_.release, Params().text_array(ids).int8_array(tokens)});
    }
    std::optional<std::size_t> renew_statement, claim_statement;
    if (!pass.renew.empty()) {
      const auto [ids, tokens] = split(pass.renew);
      renew_statement = round.size();
      round.push_back({"aw_heartbeat", sql_.heartbeat,
                       Params().text_array(ids).int8_array(tokens).int8(settings_.lease.count())});
    }
    if (pass.claim > 0) {
      claim_statement = round.size();
      round.push_back({"aw_claim", sql_.claim_ready,
                       Params()
                           .int8(pass.claim_token)
                           .int8(static_cast<std::int64_t>(pass.claim))
                           .int8(settings_.lease.count())
                           .text(replica_)
                           .int8(pass.claim_floor)});
    }

    Answers answers;
    answers.outcome_applied.assign(pass.outcomes.size(), false);
    if (round.empty()) return answers;
    try {
      const auto results = session_.run(round);
      std::vector<std::string> completed;
      if (!complete_ids.empty()) {
        for (int r = 0; r < results[0].rows(); ++r) completed.push_back(results[0].text(r, 0));
      }
      for (std::size_t i = 0; i < pass.outcomes.size(); ++i) {
        const auto& outcome = *pass.outcomes[i];
        answers.outcome_applied[i] =
            outcome.kind == Kind::complete
                ? std::find(completed.begin(), completed.end(), outcome.id) != completed.end()
                : results[outcome_statement[i]].rows() == 1;
      }
      if (renew_statement) {
        const auto& renewed = results[*renew_statement];
        for (int r = 0; r < renewed.rows(); ++r) answers.renewed.push_back(renewed.text(r, 0));
      }
      if (claim_statement) read_claims(results[*claim_statement], answers);
    } catch (const Error& error) {
      failure = error.what();
      answers = Answers();
      answers.outcome_applied.assign(pass.outcomes.size(), false);
    }
    return answers;
  }

  static std::pair<std::vector<std::string_view>, std::vector<std::int64_t>> split(
      const std::vector<std::pair<std::string, std::int64_t>>& leases) {
    std::pair<std::vector<std::string_view>, std::vector<std::int64_t>> out;
    for (const auto& [id, token] : leases) {
      out.first.push_back(id);
      out.second.push_back(token);
    }
    return out;
  }

  // Claimed rows in arrival order, rebuilt into records.
  void read_claims(const Result& rows, Answers& answers) {
    std::vector<int> order(static_cast<std::size_t>(rows.rows()));
    for (int r = 0; r < rows.rows(); ++r) order[static_cast<std::size_t>(r)] = r;
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return rows.int8(a, 0) < rows.int8(b, 0); });
    for (const int r : order) {
      answers.seqs.push_back(rows.int8(r, 0));
      answers.keyed.push_back(rows.int8(r, 8) == 1);
      answers.claimed_ids.push_back(rows.text(r, 1));
      answers.records.push_back(rebuild_(rows.text(r, 1), rows.text(r, 2), rows.text(r, 3),
                                         headers_from_json(rows.text(r, 4)),
                                         from_millis(rows.int8(r, 5))));
      answers.attempts.push_back(static_cast<int>(rows.int8(r, 6)));
      answers.handlers.push_back(handlers_from_json(rows.text(r, 7)));
    }
  }

  // Caller holds mutex_.
  void apply(const Pass& pass, const Answers& answers, const std::string& failure) {
    reconnects_ = session_.reconnects();
    if (pass.claim > 0) {
      claim_in_flight_ = false;
      ++claim_rounds_done_;
    }
    if (!failure.empty()) {
      last_error_ = failure;
      // Nothing was committed: outcomes and given-back leases go round again (each is
      // idempotent: fenced by its token), and so does the claim, from no higher (after the
      // failure pause, not at the next poll); renewals simply come at the next heartbeat.
      if (pass.claim > 0) {
        lower_floor(pass.claim_floor);
        hinted_ = true;
      }
      outcomes_.insert(outcomes_.begin(), pass.outcomes.begin(), pass.outcomes.end());
      give_back_.insert(give_back_.end(), pass.give_back.begin(), pass.give_back.end());
      workers_cv_.notify_all();
      return;
    }
    std::size_t removed = 0;  // from the queue: completed or dead-lettered
    for (std::size_t i = 0; i < pass.outcomes.size(); ++i) {
      auto& outcome = *pass.outcomes[i];
      ++stats_.outcomes;
      if (!answers.outcome_applied[i]) ++stats_.fenced_outcomes;
      if (answers.outcome_applied[i] && outcome.kind != Kind::retry) {
        ++removed;
        // The next event of its key may be claimable now, below the floor.
        const auto held = held_.find(outcome.claim);
        if (held != held_.end() && held->second.keyed) {
          lower_floor(held->second.seq);
          hinted_ = true;
        }
      }
      if (outcome.kind == Kind::retry && answers.outcome_applied[i]) {
        // The database counted the delay from its transaction's start, before now: by then
        // the retry is due.
        const auto due = SteadyClock::now() + outcome.delay;
        if (!retry_due_ || due < *retry_due_) retry_due_ = due;
      }
      outcome.done = true;
      held_.erase(outcome.claim);
    }
    outcomes_written_ += pass.outcomes.size();
    if (!pass.outcomes.empty()) outcome_cv_.notify_all();
    if (removed > 0) removals_->removed(removed, pass.began);
    for (const EventRecord* claim : pass.renewed_claims) {
      const auto held = held_.find(claim);
      if (held == held_.end() || held->second.writing) continue;
      const bool renewed = std::find(answers.renewed.begin(), answers.renewed.end(),
                                     held->second.record->id) != answers.renewed.end();
      if (renewed) continue;
      // Taken over (the lease ran out while the database was unreachable, say). A claimed
      // event not handed out yet is dropped: its new holder runs it. A running one finishes;
      // its outcome will be fenced.
      ++stats_.leases_lost;
      const auto waiting = std::find_if(ready_.begin(), ready_.end(),
                                        [&](const Delivery& d) { return d.record.get() == claim; });
      if (waiting != ready_.end()) {
        ready_.erase(waiting);
        held_.erase(held);
      }
    }
    if (pass.claim > 0) {
      last_claim_full_ = answers.records.size() == pass.claim;
      claim_floor_ = answers.seqs.empty() ? pass.claim_floor : answers.seqs.front();
    }
    for (std::size_t i = 0; i < answers.records.size(); ++i) {
      const auto& record = answers.records[i];
      held_[record.get()] = Held{record, pass.claim_token, answers.seqs[i], answers.keyed[i],
                                 false};
      ready_.push_back(Delivery{record, answers.attempts[i], answers.handlers[i]});
      ++stats_.claims;
    }
    if (closed_) {
      for (auto& delivery : ready_) give_back(delivery.record.get());
      ready_.clear();
    }
    // A full claim suggests more is ready.
    if (pass.claim > 0 && answers.records.size() == pass.claim) hinted_ = true;
    workers_cv_.notify_all();
  }

  // Forgets up to prune_batch remembered ids past the dedupe window; true when there may be
  // more to forget.
  bool prune() {
    try {
      const auto cutoff = to_millis(clock_() - dedupe_window_);
      const auto pruned = session_.run(
          {"aw_prune", sql_.prune,
           Params().int8(cutoff).int8(static_cast<std::int64_t>(settings_.prune_batch))});
      return pruned[0].affected() == settings_.prune_batch;
    } catch (const Error& error) {
      std::lock_guard<std::mutex> lock(mutex_);
      last_error_ = error.what();
      return false;
    }
  }

  Session session_;  // keeper thread only
  const InboxSql& sql_;
  const PostgresInboxSettings settings_;
  const std::string replica_;
  const std::shared_ptr<RemovalTally> removals_;
  std::mt19937_64 random_;  // keeper thread only
  Clock clock_;
  std::chrono::seconds dedupe_window_{0};
  std::size_t workers_ = 1;
  Rebuild rebuild_;

  mutable std::mutex mutex_;
  std::condition_variable keeper_cv_;   // the keeper waits for work
  std::condition_variable workers_cv_;  // workers wait in next()
  std::condition_variable outcome_cv_;  // workers wait for their outcome
  std::deque<Delivery> ready_;          // claimed, not handed out yet, in arrival order
  std::unordered_map<const EventRecord*, Held> held_;
  std::deque<std::shared_ptr<Outcome>> outcomes_;
  std::uint64_t outcomes_reported_ = 0;  // queued by write(), ever
  std::uint64_t outcomes_written_ = 0;   // of those, committed (or fenced off), ever
  std::vector<std::pair<std::string, std::int64_t>> give_back_;
  std::size_t waiting_workers_ = 0;
  std::uint64_t claim_rounds_done_ = 0;
  bool claim_in_flight_ = false;
  bool hinted_ = true;  // events may wait from before this replica started
  std::optional<SteadyClock::time_point> retry_due_;
  // Where claims start. Under load, the queue's index begins with the entries of events
  // completed moments ago, which are dead but cannot be cleaned up yet (transactions that may
  // still see them are running): a claim from the start visited each of them, and that was
  // most of a claim's cost. So a claim starts at the first event the last one took, or lower
  // where something may have become claimable below it since (lowered_floor_):
  // - this replica's batch that committed after one with higher seqs (the committer's hint);
  // - the next event of a key whose event this replica finished;
  // - anything, after a NOTIFY of another replica or a requeue (from the start).
  // What no hint announces (a retry now due, another replica's released or expired lease or
  // finished key) is found by a claim from the start: when the earliest retry of this replica
  // is due (a later one may wait for the next), and at least every poll_interval.
  std::int64_t claim_floor_ = 0;
  std::optional<std::int64_t> lowered_floor_;  // since the last claim was sent
  bool last_claim_full_ = false;
  SteadyClock::time_point next_claim_from_start_{};
  SteadyClock::time_point last_failure_{};
  bool closed_ = false;
  bool stopping_ = false;
  PostgresInboxStats stats_;
  std::uint64_t reconnects_ = 0;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace allthings::webhooks::detail::pg
