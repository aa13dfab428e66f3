#pragma once

#include <optional>
#include <string>

namespace allthings::webhooks {

// Small named values a durable inbox keeps in its own store next to the events, so that they
// survive a restart with them: a Reconciler keeps its high-water mark here. Durable inboxes
// (SqliteInbox, PostgresInbox) implement it; a MemoryInbox does not, and a Reconciler then keeps
// its mark in memory and says so. Methods throw InboxStoreError when the store fails.
class CursorStore {
 public:
  virtual ~CursorStore() = default;

  // The value saved under `key`, or nullopt when none was.
  virtual std::optional<std::string> load_cursor(const std::string& key) = 0;
  // Saves `value` under `key`, replacing what was there; durable once it returns.
  virtual void save_cursor(const std::string& key, const std::string& value) = 0;
};

}  // namespace allthings::webhooks
