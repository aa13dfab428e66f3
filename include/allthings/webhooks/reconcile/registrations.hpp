#pragma once

// Managing an app's webhook registrations through the Webhooks API: list, register, update,
// remove. Field and operation names beyond what Allthings' reference shows are assumptions,
// listed in docs/reconcile.md.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_client.hpp"
#include "api_error.hpp"

namespace allthings::webhooks::reconcile {

// A webhook as the API describes it (its secret is not read by list()).
struct Webhook {
  std::string id;
  std::string description;
  std::string url;
  std::vector<std::string> events;  // e.g. "ticket.created"
  std::vector<std::string> urns;    // e.g. "urn:allthings:app:<app-uuid>"
  bool enabled = false;
};

// RegisterWebhookInput.
struct NewWebhook {
  std::string description;
  std::string url;  // the HTTPS endpoint Allthings delivers to
  std::vector<std::string> events;
  std::vector<std::string> urns;
};

// UpdateWebhookInput: only the fields set are sent, the others stay as they are.
struct WebhookChanges {
  std::optional<std::string> description;
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> events;
  std::optional<std::vector<std::string>> urns;
  std::optional<bool> enabled;
};

// What register_webhook() returns: the webhook and the shared secret its deliveries are signed
// with (give it to the receiver's Options::secrets; never log it).
struct RegisteredWebhook {
  Webhook webhook;
  std::string secret;
};

// list / register / update / remove, each one GraphQL request (list: one per page). Throws
// WebhooksApiError when the API refuses or answers in another shape.
class WebhookRegistrations {
 public:
  explicit WebhookRegistrations(std::shared_ptr<WebhooksApiClient> client)
      : client_(std::move(client)) {
    if (!client_) throw std::invalid_argument("WebhookRegistrations: no WebhooksApiClient");
  }

  // Every webhook of the app `app_id` (WebhooksFilter { appId }), all pages.
  std::vector<Webhook> list(const std::string& app_id, int page_size = 50) {
    static const char* query = R"graphql(
query Webhooks($filter: WebhooksFilter, $first: Int!, $after: String) {
  webhooks(filter: $filter, first: $first, after: $after) {
    pageInfo { endCursor hasNextPage }
    nodes { id description url events urns enabled }
  }
}
)graphql";
    std::vector<Webhook> webhooks;
    nlohmann::json after = nullptr;
    for (int page = 0; page < 1000; ++page) {
      const auto data = client_->graphql(
          "list webhooks", query,
          {{"filter", {{"appId", app_id}}}, {"first", page_size}, {"after", after}});
      const auto& connection = member(data, "webhooks", "list webhooks");
      for (const auto& node : member(connection, "nodes", "list webhooks")) {
        webhooks.push_back(read_webhook(node, "list webhooks"));
      }
      const auto info = connection.find("pageInfo");
      if (info == connection.end() || !info->is_object()) break;
      const auto more = info->find("hasNextPage");
      const auto cursor = info->find("endCursor");
      if (more == info->end() || !more->is_boolean() || !more->get<bool>()) break;
      if (cursor == info->end() || !cursor->is_string() ||
          cursor->get_ref<const std::string&>().empty()) {
        throw WebhooksApiError("webhooks api list webhooks: hasNextPage without an endCursor", 200);
      }
      after = *cursor;
    }
    return webhooks;
  }

  // registerWebhook(input: RegisterWebhookInput!): creates and activates the webhook.
  RegisteredWebhook register_webhook(const NewWebhook& webhook) {
    static const char* mutation = R"graphql(
mutation Register($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) {
    webhook { id description url events urns enabled secret }
  }
}
)graphql";
    const nlohmann::json input{{"description", webhook.description},
                               {"url", webhook.url},
                               {"events", webhook.events},
                               {"urns", webhook.urns}};
    const auto data = client_->graphql("register webhook", mutation, {{"input", input}});
    const auto& node = member(member(data, "registerWebhook", "register webhook"), "webhook",
                              "register webhook");
    RegisteredWebhook out{read_webhook(node, "register webhook"), {}};
    if (node.contains("secret") && node["secret"].is_string()) out.secret = node["secret"];
    return out;
  }

  // updateWebhook(id: ID!, input: UpdateWebhookInput!): changes only the fields set.
  Webhook update(const std::string& id, const WebhookChanges& changes) {
    static const char* mutation = R"graphql(
mutation Update($id: ID!, $input: UpdateWebhookInput!) {
  updateWebhook(id: $id, input: $input) {
    webhook { id description url events urns enabled }
  }
}
)graphql";
    nlohmann::json input = nlohmann::json::object();
    if (changes.description) input["description"] = *changes.description;
    if (changes.url) input["url"] = *changes.url;
    if (changes.events) input["events"] = *changes.events;
    if (changes.urns) input["urns"] = *changes.urns;
    if (changes.enabled) input["enabled"] = *changes.enabled;
    const auto data =
        client_->graphql("update webhook", mutation, {{"id", id}, {"input", input}});
    return read_webhook(member(member(data, "updateWebhook", "update webhook"), "webhook",
                               "update webhook"),
                        "update webhook");
  }

  // removeWebhook(id: ID!): deactivates and removes the webhook.
  void remove(const std::string& id) {
    static const char* mutation = R"graphql(
mutation Remove($id: ID!) {
  removeWebhook(id: $id) { webhook { id } }
}
)graphql";
    const auto data = client_->graphql("remove webhook", mutation, {{"id", id}});
    (void)member(data, "removeWebhook", "remove webhook");
  }

 private:
  static const nlohmann::json& member(const nlohmann::json& object, const char* key,
                                      const char* what) {
    if (object.is_object()) {
      const auto found = object.find(key);
      if (found != object.end() && !found->is_null()) return *found;
    }
    throw WebhooksApiError(std::string("webhooks api ") + what + ": the answer has no " + key,
                           200);
  }

  static std::vector<std::string> strings(const nlohmann::json& node, const char* key) {
    std::vector<std::string> out;
    const auto found = node.find(key);
    if (found == node.end() || !found->is_array()) return out;
    for (const auto& item : *found) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
    return out;
  }

  static Webhook read_webhook(const nlohmann::json& node, const char* what) {
    if (!node.is_object() || !node.contains("id") || !node["id"].is_string()) {
      throw WebhooksApiError(std::string("webhooks api ") + what + ": a webhook has no id", 200);
    }
    Webhook webhook;
    webhook.id = node["id"].get<std::string>();
    auto text = [&](const char* key) {
      const auto found = node.find(key);
      return found != node.end() && found->is_string() ? found->get<std::string>()
                                                       : std::string();
    };
    webhook.description = text("description");
    webhook.url = text("url");
    webhook.events = strings(node, "events");
    webhook.urns = strings(node, "urns");
    const auto enabled = node.find("enabled");
    webhook.enabled = enabled != node.end() && enabled->is_boolean() && enabled->get<bool>();
    return webhook;
  }

  std::shared_ptr<WebhooksApiClient> client_;
};

}  // namespace allthings::webhooks::reconcile
