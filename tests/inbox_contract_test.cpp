// MemoryInbox keeps the Inbox contract (contract/inbox_contract.hpp); the durable inboxes run
// the same suite in their own test programs.
#include "contract/inbox_contract.hpp"

namespace {
struct MemoryBackend {
  static constexpr bool durable = false;
  std::shared_ptr<allthings::webhooks::Inbox> open(const allthings::webhooks::Options& options) {
    auto inbox = std::make_shared<allthings::webhooks::MemoryInbox>();
    inbox->attach(options);
    return inbox;
  }
};
}  // namespace

TEST_CASE_TEMPLATE_INVOKE(inbox_contract, MemoryBackend);
