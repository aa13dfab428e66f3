#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_client.hpp"
#include "api_error.hpp"

namespace allthings::webhooks::detail {

// A node's text field; a missing (when required) or mistyped one is noted in `malformed`.
inline std::string delivery_text(const nlohmann::json& object, const char* key, bool required,
                                 std::string& malformed) {
  const auto found = object.find(key);
  if (found != object.end() && found->is_string()) return found->get<std::string>();
  if (found != object.end() && !found->is_null() && malformed.empty()) {
    malformed = std::string(key) + " is not a string";
  } else if (required && malformed.empty()) {
    malformed = std::string(key) + " is missing";
  }
  return {};
}

}  // namespace allthings::webhooks::detail

namespace allthings::webhooks::reconcile {

// One delivery attempt as the Webhooks API lists it: `webhook(id) { deliveries { nodes {
// id createdDate deliveryDate status event { id name urn payload createdDate } } } }`.
struct WebhookDelivery {
  std::string id;
  std::string created_date;
  std::string delivery_date;
  std::string status;  // PENDING, SUCCESS or FAILED
  std::string event_id;
  std::string event_name;
  std::string event_urn;
  std::string event_created_date;
  std::string payload;  // stringified JSON, as the API sends it
  // Set when the node is not of the documented shape; the other fields then hold what could
  // be read. Names the field, never its value.
  std::string malformed;
};

// One page of a webhook's deliveries and where the next one starts.
struct DeliveryPage {
  std::vector<WebhookDelivery> deliveries;
  std::string end_cursor;
  bool has_next_page = false;
};

// Reads one delivery node; never throws: what does not fit is said in `malformed`.
inline WebhookDelivery read_delivery(const nlohmann::json& node) {
  const auto text_member = detail::delivery_text;
  WebhookDelivery delivery;
  if (!node.is_object()) {
    delivery.malformed = "delivery is not an object";
    return delivery;
  }
  std::string ignored;
  delivery.id = text_member(node, "id", false, ignored);
  delivery.created_date = text_member(node, "createdDate", false, ignored);
  delivery.delivery_date = text_member(node, "deliveryDate", false, ignored);
  delivery.status = text_member(node, "status", false, ignored);
  const auto event = node.find("event");
  if (event == node.end() || !event->is_object()) {
    delivery.malformed = "event is missing";
    return delivery;
  }
  delivery.event_id = text_member(*event, "id", true, delivery.malformed);
  delivery.event_name = text_member(*event, "name", true, delivery.malformed);
  delivery.event_urn = text_member(*event, "urn", false, delivery.malformed);
  delivery.event_created_date = text_member(*event, "createdDate", false, delivery.malformed);
  delivery.payload = text_member(*event, "payload", true, delivery.malformed);
  if (delivery.malformed.empty() && (delivery.event_id.empty() || delivery.event_name.empty())) {
    delivery.malformed = "event id or name is empty";
  }
  return delivery;
}

inline const char* deliveries_query = R"graphql(
query Deliveries($id: ID!, $first: Int!, $after: String) {
  webhook(id: $id) {
    deliveries(first: $first, after: $after) {
      pageInfo { endCursor hasNextPage }
      nodes {
        id createdDate deliveryDate status
        event { id name urn payload createdDate }
      }
    }
  }
}
)graphql";

// One page of the webhook's deliveries, `first` of them after `after` (empty: from the
// start). Throws WebhooksApiError when the request fails or the answer is not a page.
inline DeliveryPage fetch_deliveries(WebhooksApiClient& client, const std::string& webhook_id,
                                     int first, const std::string& after) {
  nlohmann::json variables{{"id", webhook_id}, {"first", first}};
  variables["after"] = after.empty() ? nlohmann::json(nullptr) : nlohmann::json(after);
  const auto data = client.graphql("deliveries", deliveries_query, variables);
  const auto webhook = data.find("webhook");
  if (webhook == data.end() || !webhook->is_object()) {
    throw WebhooksApiError("webhooks api deliveries: no webhook with id " + webhook_id, 200);
  }
  const auto connection = webhook->find("deliveries");
  if (connection == webhook->end() || !connection->is_object() ||
      !connection->contains("nodes") || !(*connection)["nodes"].is_array()) {
    throw WebhooksApiError("webhooks api deliveries: the answer holds no deliveries.nodes", 200);
  }
  DeliveryPage page;
  for (const auto& node : (*connection)["nodes"]) page.deliveries.push_back(read_delivery(node));
  const auto info = connection->find("pageInfo");
  if (info != connection->end() && info->is_object()) {
    const auto next = info->find("hasNextPage");
    page.has_next_page = next != info->end() && next->is_boolean() && next->get<bool>();
    const auto cursor = info->find("endCursor");
    if (cursor != info->end() && cursor->is_string()) page.end_cursor = cursor->get<std::string>();
  }
  // A next page without a cursor to reach it would be read again and again.
  if (page.has_next_page && page.end_cursor.empty()) {
    throw WebhooksApiError("webhooks api deliveries: hasNextPage without an endCursor", 200);
  }
  return page;
}

}  // namespace allthings::webhooks::reconcile
