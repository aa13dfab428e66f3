// SqliteInbox keeps the Inbox contract (../contract/inbox_contract.hpp).
#include "../contract/inbox_contract.hpp"
#include "durable_support.hpp"

namespace {
struct SqliteBackend {
  static constexpr bool durable = true;
  test::ScratchDir dir;
  std::shared_ptr<allthings::webhooks::Inbox> open(const allthings::webhooks::Options& options) {
    auto inbox = std::make_shared<allthings::webhooks::SqliteInbox>(dir.file("inbox.db"));
    inbox->attach(options);
    return inbox;
  }
};
}  // namespace

TEST_CASE_TEMPLATE_INVOKE(inbox_contract, SqliteBackend);
