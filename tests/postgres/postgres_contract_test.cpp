// PostgresInbox keeps the Inbox contract (../contract/inbox_contract.hpp), each instance in a
// fresh schema of this test process's PostgreSQL server.
#include "../contract/inbox_contract.hpp"
#include "postgres_support.hpp"

namespace {
struct PostgresBackend {
  static constexpr bool durable = true;
  static bool available() { return test::pg::server_or_skip() != nullptr; }
  std::string schema = test::pg::fresh_schema();
  std::shared_ptr<allthings::webhooks::Inbox> open(const allthings::webhooks::Options& options) {
    auto inbox = std::make_shared<allthings::webhooks::PostgresInbox>(
        test::pg::server()->conninfo(), test::pg::settings(schema));
    inbox->attach(options);
    return inbox;
  }
};
}  // namespace

TEST_CASE_TEMPLATE_INVOKE(inbox_contract, PostgresBackend);
