#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../detail/sqlite/schema.hpp"
#include "../detail/sqlite/store.hpp"
#include "operations.hpp"

namespace allthings::webhooks {

// The operator's view of a SqliteInbox file: dead letters, requeueing, looking events up. It
// never dispatches, so it may run in another process next to the receiver (the command-line
// tool does); the receiver queues requeued events within its maintenance_interval.
// Thread-safe.
class SqliteInboxFile final : public InboxOperations {
 public:
  // Opens an existing inbox; throws InboxStoreError naming the path and the problem when it is
  // missing, unreadable, corrupt, not SQLite, or not an inbox.
  explicit SqliteInboxFile(std::string path,
                           std::chrono::milliseconds busy_timeout = std::chrono::seconds(1))
      : path_(std::move(path)),
        store_(detail::open_inbox_database(path_, {busy_timeout, 0, false, false})) {}

  std::vector<DeadLetter> dead_letters() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.dead_letters();
  }

  std::optional<StoredEvent> find(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.find(id);
  }

  std::size_t count(StoredState state) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.count(state);
  }

  bool requeue(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.requeue(id);
  }

  std::size_t requeue_all() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return store_.requeue_all();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mutex_;
  detail::SqliteInboxStore store_;
};

}  // namespace allthings::webhooks
