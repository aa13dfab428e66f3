// `webhooks list | register | update | remove`: an app's webhook registrations through
// Allthings' Webhooks API. `register` prints the new webhook's signing secret once, on stdout
// only; it is never logged. Each action is one call of WebhookRegistrations; a refusal by the
// API (WebhooksApiError) exits 1 naming the request and its status.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <allthings/webhooks/reconcile.hpp>

#include "api_options.hpp"
#include "command.hpp"

namespace allthings::webhooks::tool {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// One webhook as a tab-separated line: id, enabled, url, events, urns, description.
void write_webhook(const reconcile::Webhook& webhook) {
  std::cout << webhook.id << '\t' << (webhook.enabled ? "enabled" : "disabled") << '\t'
            << webhook.url << '\t' << joined(webhook.events) << '\t' << joined(webhook.urns)
            << '\t' << webhook.description << '\n';
}

struct Fields {
  std::string description;
  std::string url;
  std::vector<std::string> events;
  std::vector<std::string> urns;

  void add_options(CLI::App& app, bool required) {
    auto* description_option =
        app.add_option("--description", description, "What the webhook is for");
    auto* url_option =
        app.add_option("--url", url, "The HTTPS endpoint Allthings delivers to (serve's URL)");
    auto* event_option = add_repeatable(app, "--event", events,
                                        "An event name to deliver, e.g. ticket.created "
                                        "(repeatable)");
    auto* urn_option = add_repeatable(app, "--urn", urns,
                                      "A resource whose events to deliver, e.g. "
                                      "urn:allthings:app:APP_ID (repeatable)");
    if (required) {
      description_option->required();
      url_option->required();
      event_option->required();
      urn_option->required();
    }
  }
};

}  // namespace

Command add_webhooks(CLI::App& parent) {
  struct Args {
    ApiOptions api;
    std::string app_id;
    std::string id;
    Fields fields;
    bool enable = false;
    bool disable = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* app = parent.add_subcommand(
      "webhooks", "List, register, update and remove an app's webhooks (Allthings' Webhooks API)");
  app->require_subcommand(1);

  CLI::App* list = app->add_subcommand("list", "Every webhook of an app, one per line");
  list->add_option("--app-id", args->app_id, "The app's id")->required();
  args->api.add_options(*list);

  CLI::App* add = app->add_subcommand(
      "register",
      "Register a webhook; prints its id and, once, its signing secret (for serve --secret-env)");
  args->fields.add_options(*add, /*required=*/true);
  args->api.add_options(*add);

  CLI::App* update = app->add_subcommand("update", "Change the fields given; the others stay");
  update->add_option("id", args->id, "The webhook's id")->required();
  args->fields.add_options(*update, /*required=*/false);
  auto* enable = update->add_flag("--enable", args->enable, "Deliver again");
  update->add_flag("--disable", args->disable, "Stop delivering, keep the webhook")
      ->excludes(enable);
  args->api.add_options(*update);

  CLI::App* remove = app->add_subcommand("remove", "Deactivate and remove a webhook");
  remove->add_option("id", args->id, "The webhook's id")->required();
  args->api.add_options(*remove);

  return {app, [args, list, add, update] {
            auto& a = *args;
            if (list->parsed()) {
              reconcile::WebhookRegistrations registrations(a.api.client());
              const auto webhooks = registrations.list(a.app_id);
              for (const auto& webhook : webhooks) write_webhook(webhook);
              std::cout << webhooks.size() << " webhook" << (webhooks.size() == 1 ? "" : "s")
                        << '\n';
              return 0;
            }
            if (add->parsed()) {
              reconcile::WebhookRegistrations registrations(a.api.client());
              const auto registered = registrations.register_webhook(
                  {a.fields.description, a.fields.url, a.fields.events, a.fields.urns});
              write_webhook(registered.webhook);
              if (registered.secret.empty()) {
                std::cerr << "allthings-webhooks webhooks register: registered "
                          << registered.webhook.id << ", but the API returned no signing secret\n";
                return 1;
              }
              std::cout << "secret\t" << registered.secret << '\n';
              std::cerr << "allthings-webhooks webhooks register: the signing secret is shown "
                           "this once; keep it where serve reads it (--secret-env, "
                           "--secret-file)\n";
              return 0;
            }
            if (update->parsed()) {
              reconcile::WebhookChanges changes;
              const auto given = [&](const char* name) { return update->count(name) > 0; };
              if (given("--description")) changes.description = a.fields.description;
              if (given("--url")) changes.url = a.fields.url;
              if (given("--event")) changes.events = a.fields.events;
              if (given("--urn")) changes.urns = a.fields.urns;
              if (a.enable) changes.enabled = true;
              if (a.disable) changes.enabled = false;
              if (!changes.description && !changes.url && !changes.events && !changes.urns &&
                  !changes.enabled) {
                throw UsageError("nothing to change: give --description, --url, --event, "
                                 "--urn, --enable or --disable");
              }
              reconcile::WebhookRegistrations registrations(a.api.client());
              write_webhook(registrations.update(a.id, changes));
              return 0;
            }
            reconcile::WebhookRegistrations registrations(a.api.client());
            registrations.remove(a.id);
            std::cout << "removed " << a.id << '\n';
            return 0;
          }};
}

}  // namespace allthings::webhooks::tool
