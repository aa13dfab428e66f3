#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../event.hpp"

// What an operator does with a durable inbox, whatever its backend: look events up, list dead
// letters, requeue them. The command-line tool and your own admin code use only this.
namespace allthings::webhooks {

// Where an event held by a durable inbox stands.
enum class StoredState {
  pending,      // waiting, running or awaiting a retry: runs again after a restart
  completed,    // done; only the id and times are kept, for the dedupe window
  dead_letter,  // given up after max_attempts; kept until requeued
};

inline const char* to_string(StoredState state) {
  switch (state) {
    case StoredState::pending: return "pending";
    case StoredState::completed: return "completed";
    case StoredState::dead_letter: return "dead";
  }
  return "?";
}

// An event as a durable inbox holds it.
struct StoredEvent {
  std::string id;
  std::string name;
  StoredState state = StoredState::pending;
  // Pending: the attempt that runs next. Dead letter: the last attempt that ran.
  int attempt = 1;
  std::chrono::system_clock::time_point received_at;
  // Pending and waiting for a retry: when it is due (wall clock).
  std::optional<std::chrono::system_clock::time_point> next_attempt_at;
  // Completed or dead-lettered: when.
  std::optional<std::chrono::system_clock::time_point> finished_at;
  std::string dead_letter_reason;
  // Handlers the next attempt runs (indices in registration order); empty means all matching.
  std::vector<std::size_t> pending_handlers;
  std::string raw_body;  // empty once completed
  HeaderList headers;    // empty once completed
};

// One entry of InboxOperations::dead_letters().
struct DeadLetter {
  std::string id;
  std::string name;
  int attempts = 0;
  std::string reason;
  std::chrono::system_clock::time_point received_at;
  std::chrono::system_clock::time_point dead_lettered_at;
};

// The store behind a durable inbox (a file, a database) cannot be used: missing, unreadable,
// corrupt, foreign, of a newer schema, or locked by another inbox. The message names the store
// and the problem.
class InboxStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The operator's interface of a durable inbox. It never dispatches, so it may run in another
// process next to the receiver; the receiver picks requeued events up by itself. Methods throw
// std::runtime_error when the store cannot be read or written.
class InboxOperations {
 public:
  virtual ~InboxOperations() = default;

  // Dead letters in arrival order.
  virtual std::vector<DeadLetter> dead_letters() = 0;
  // The event with this id as stored, while the inbox remembers it.
  virtual std::optional<StoredEvent> find(const std::string& id) = 0;
  // Events stored in `state`.
  virtual std::size_t count(StoredState state) = 0;
  // Makes a dead letter pending again, with a fresh round of max_attempts; the handlers that had
  // not succeeded stay the ones to run. False when `id` is not a dead letter.
  virtual bool requeue(const std::string& id) = 0;
  // requeue() for every dead letter; returns how many there were.
  virtual std::size_t requeue_all() = 0;
};

}  // namespace allthings::webhooks
