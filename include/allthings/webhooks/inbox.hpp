#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "event.hpp"
#include "metrics.hpp"
#include "options.hpp"

namespace allthings::webhooks {

// The answer to "may this event be acknowledged?".
enum class Acceptance {
  accepted,     // new: remembered and queued (for a durable inbox: committed)
  duplicate,    // its id was accepted before: nothing queued
  full,         // no room: nothing remembered, so the sender's retry is processed -> 503
  unavailable,  // the store failed: nothing remembered -> 503
};

// One event handed to a worker.
struct Delivery {
  std::shared_ptr<const EventRecord> record;
  int attempt = 1;
  // Indices of the handlers that still have to succeed; empty means every matching handler.
  // Retries run only the handlers that failed, so the others never see the event twice.
  std::vector<std::size_t> pending_handlers;
  // When it became due, set by the queue that hands it out: where its queue wait starts.
  std::chrono::steady_clock::time_point due{};
};

// The seam between accepting an event and running it. An implementation decides what
// "accepted" means (in memory, on disk, in a shared database) and owns the id memory that drops
// duplicates and the queue that workers take from. An inbox is built with its own settings
// only (where it stores, how); everything the receiver decides comes through attach(). After
// attach() all methods are called concurrently from HTTP threads and workers.
class Inbox {
 public:
  virtual ~Inbox() = default;

  // Called once, by the Receiver that will use this inbox, before any other method, with its
  // validated options: queue_capacity, dedupe_window, dedupe_capacity, clock and envelope are
  // the ones an inbox may need. Throws std::logic_error when the inbox is attached already.
  virtual void attach(const Options& options) = 0;

  // Remembers the id and queues the event as one step: a concurrent second delivery of the
  // same id sees `duplicate`, and a `full` or `unavailable` answer leaves no trace.
  virtual Acceptance accept(std::shared_ptr<const EventRecord> record) = 0;

  // The next due delivery, waiting up to `wait`; nullopt on time-out or once closed.
  virtual std::optional<Delivery> next(std::chrono::milliseconds wait) = 0;

  // Outcomes of a delivery handed out by next().
  virtual void complete(const Delivery& delivery) = 0;
  // Hands the delivery out again after `delay`, with attempt + 1 and the given handlers.
  virtual void retry_later(const Delivery& delivery, std::vector<std::size_t> failed_handlers,
                           std::chrono::milliseconds delay) = 0;
  virtual void dead_letter(const Delivery& delivery, const std::string& reason) = 0;

  // Events accepted but not finished: waiting, handed out, or awaiting a retry.
  virtual std::size_t depth() const = 0;

  // Wakes every waiter in next(); after it next() returns nullopt at once.
  virtual void close() = 0;

  // After close(): the unfinished events this inbox is about to lose. A durable inbox keeps
  // them for the next start and returns nothing. A later accept() must not acknowledge an
  // event it would lose: unavailable, or kept for the next start.
  virtual std::vector<std::shared_ptr<const EventRecord>> take_unfinished() = 0;

  // True when the inbox itself keeps Options::serialize_by: next() never hands out an event
  // while an earlier one with the same key is unfinished, in this process or in any other that
  // shares the inbox. The Dispatcher then keeps no per-key lanes of its own: they know only
  // this process, and a lane whose event went to another process for its retry would wait for
  // it forever.
  virtual bool orders_by_key() const { return false; }

  // False while the store cannot take writes (its latest write failed): the receiver's
  // readiness turns 503 until a write succeeds again. An inbox in memory is always writable.
  virtual bool writable() const { return true; }

  // What an inbox that commits to a store measures of its commits; nothing by default.
  virtual std::optional<InboxCommitMetrics> commit_metrics() const { return std::nullopt; }
};

}  // namespace allthings::webhooks
