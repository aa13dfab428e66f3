// Managing webhook registrations through the fake Webhooks API: list (several pages),
// register (the secret comes back), update (only the fields set are sent), remove.
#include <doctest/doctest.h>

#include "reconcile_support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("an app's webhooks are listed over several pages") {
  test::ReconcileHarness h;
  for (int i = 1; i <= 5; ++i) {
    h.api.add_webhook({{"id", "wh-" + std::to_string(i)},
                       {"description", "hook " + std::to_string(i)},
                       {"url", "https://example.com/" + std::to_string(i)},
                       {"events", {"ticket.created"}},
                       {"urns", {"urn:allthings:app:app-1"}},
                       {"enabled", i % 2 == 1}});
  }
  aw::reconcile::WebhookRegistrations registrations(h.client());
  const auto webhooks = registrations.list("app-1", 2);
  REQUIRE(webhooks.size() == 5);
  CHECK(webhooks[4].id == "wh-5");
  CHECK(webhooks[1].url == "https://example.com/2");
  CHECK(webhooks[0].events == std::vector<std::string>{"ticket.created"});
  CHECK(webhooks[0].enabled);
  CHECK_FALSE(webhooks[1].enabled);
  CHECK(h.api.last_variables("list")["filter"]["appId"] == "app-1");
}

TEST_CASE("register, update and remove send the documented inputs") {
  test::ReconcileHarness h;
  aw::reconcile::WebhookRegistrations registrations(h.client());
  const auto registered = registrations.register_webhook(
      {"tickets", "https://example.com/hook", {"ticket.created", "ticket.updated"},
       {"urn:allthings:app:app-1"}});
  CHECK(registered.webhook.id == "wh-1");
  CHECK(registered.webhook.enabled);
  CHECK(registered.secret == "whsec_generated");
  const auto input = h.api.last_variables("register")["input"];
  CHECK(input["url"] == "https://example.com/hook");
  CHECK(input["events"].size() == 2);
  CHECK(input["urns"][0] == "urn:allthings:app:app-1");

  aw::reconcile::WebhookChanges changes;
  changes.enabled = false;
  changes.events = std::vector<std::string>{"booking.accepted"};
  const auto updated = registrations.update("wh-1", changes);
  CHECK_FALSE(updated.enabled);
  CHECK(updated.events == std::vector<std::string>{"booking.accepted"});
  CHECK(updated.url == "https://example.com/hook");
  const auto sent = h.api.last_variables("update");
  CHECK(sent["id"] == "wh-1");
  CHECK(sent["input"].size() == 2);  // only what was set

  registrations.remove("wh-1");
  CHECK(registrations.list("app-1").empty());
  CHECK_THROWS_AS(registrations.remove("wh-1"), aw::reconcile::WebhooksApiError);
}
