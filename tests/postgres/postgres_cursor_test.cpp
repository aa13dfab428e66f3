// PostgresInbox as a CursorStore (where a Reconciler keeps its high-water mark): values survive
// a new inbox on the same schema, every replica sees them, and a schema made before cursors
// existed gets its table on first use.
#include <doctest/doctest.h>

#include "postgres_support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("postgres: cursors are kept in the inbox's schema and shared by its replicas") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  {
    aw::PostgresInbox inbox(server->conninfo(), test::pg::settings(schema, "a"));
    CHECK_FALSE(inbox.load_cursor("mark").has_value());
    inbox.save_cursor("mark", "1");
    inbox.save_cursor("mark", "2");
    inbox.save_cursor("other", "x");
  }
  aw::PostgresInbox again(server->conninfo(), test::pg::settings(schema, "a"));
  aw::PostgresInbox replica(server->conninfo(), test::pg::settings(schema, "b"));
  CHECK(again.load_cursor("mark") == std::optional<std::string>("2"));
  CHECK(replica.load_cursor("other") == std::optional<std::string>("x"));
  replica.save_cursor("mark", "3");
  CHECK(again.load_cursor("mark") == std::optional<std::string>("3"));
}
