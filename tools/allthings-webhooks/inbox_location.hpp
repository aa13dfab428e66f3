#pragma once

// Where events are kept, as the user writes it: memory, sqlite:PATH, postgres:CONNINFO or a
// postgres:// / postgresql:// URI. The SQLite and PostgreSQL inboxes are compiled in only where
// their libraries were found (ALLTHINGS_WEBHOOKS_TOOL_WITH_SQLITE / _POSTGRES).
#include <memory>
#include <string>

#include <allthings/webhooks.hpp>
#if ALLTHINGS_WEBHOOKS_TOOL_WITH_SQLITE
#include <allthings/webhooks/inbox/sqlite.hpp>
#endif
#if ALLTHINGS_WEBHOOKS_TOOL_WITH_POSTGRES
#include <allthings/webhooks/inbox/postgres.hpp>
#endif

#include "command.hpp"

namespace allthings::webhooks::tool {

struct InboxLocation {
  enum class Kind { memory, sqlite, postgres };
  Kind kind = Kind::memory;
  std::string where;  // the file, or libpq's connection string or URI

  static InboxLocation parse(const std::string& text) {
    const auto starts = [&](const char* prefix) { return text.rfind(prefix, 0) == 0; };
    if (text == "memory") return {Kind::memory, ""};
    if (starts("sqlite:") && text.size() > 7) return {Kind::sqlite, text.substr(7)};
    if (starts("postgres://") || starts("postgresql://")) return {Kind::postgres, text};
    if (starts("postgres:") && text.size() > 9) return {Kind::postgres, text.substr(9)};
    throw UsageError("the inbox '" + text +
                     "' is none of memory, sqlite:PATH, postgres:CONNINFO, postgres://...");
  }

  bool durable() const { return kind != Kind::memory; }

  // The inbox a receiver queues into.
  std::shared_ptr<Inbox> open_for_receiver() const {
    switch (kind) {
      case Kind::memory: return std::make_shared<MemoryInbox>();
      case Kind::sqlite:
#if ALLTHINGS_WEBHOOKS_TOOL_WITH_SQLITE
        return std::make_shared<SqliteInbox>(where);
#else
        throw std::runtime_error(not_built("sqlite", "SQLite"));
#endif
      case Kind::postgres:
#if ALLTHINGS_WEBHOOKS_TOOL_WITH_POSTGRES
        return std::make_shared<PostgresInbox>(where);
#else
        throw std::runtime_error(not_built("postgres", "libpq"));
#endif
    }
    return nullptr;
  }

  // The operator's view, which never dispatches: usable next to a running receiver.
  std::unique_ptr<InboxOperations> open_for_operator() const {
    switch (kind) {
      case Kind::memory:
        throw UsageError("a memory inbox lives inside its receiver: give sqlite:PATH or "
                         "postgres:CONNINFO");
      case Kind::sqlite:
#if ALLTHINGS_WEBHOOKS_TOOL_WITH_SQLITE
        return std::make_unique<SqliteInboxFile>(where);
#else
        throw std::runtime_error(not_built("sqlite", "SQLite"));
#endif
      case Kind::postgres:
#if ALLTHINGS_WEBHOOKS_TOOL_WITH_POSTGRES
        return std::make_unique<PostgresInboxDatabase>(where);
#else
        throw std::runtime_error(not_built("postgres", "libpq"));
#endif
    }
    return nullptr;
  }

 private:
  static std::string not_built(const char* kind, const char* library) {
    return std::string("this allthings-webhooks was built without the ") + kind +
           " inbox (" + library + " was not found when it was compiled)";
  }
};

}  // namespace allthings::webhooks::tool
