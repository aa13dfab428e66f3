#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "event.hpp"

// Typed events for the names Allthings has published. Allthings publishes no payload schema, so
// every field is read leniently: a missing or wrongly typed field leaves the member empty and
// never throws, and `event` keeps the whole delivery (event.data() is the full JSON).
//
// A user-defined type works with WebhookEndpoint::on<T> when it has
//   static constexpr const char* event_name = "some.name";
//   static T from_event(const Event&);
namespace allthings::webhooks {

namespace detail {

inline std::string string_field(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return {};
}

inline std::vector<std::string> string_list_field(const nlohmann::json& object, const char* key) {
  std::vector<std::string> out;
  if (!object.is_object()) return out;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const auto& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace detail

// The ticket fields of the Allthings REST API that a webhook is likely to carry.
struct Ticket {
  std::string id;
  std::string increment_id;
  std::string title;
  std::string description;
  std::string category;  // when sent as a string (an id); otherwise see event.data()
  std::string status;    // closed, waiting-for-agent, waiting-for-customer, waiting-for-external
  std::vector<std::string> tags;
  std::string created_at;
  std::string updated_at;

  static Ticket from_json(const nlohmann::json& data) {
    Ticket t;
    t.id = detail::string_field(data, "id");
    t.increment_id = detail::string_field(data, "incrementID");
    t.title = detail::string_field(data, "title");
    t.description = detail::string_field(data, "description");
    t.category = detail::string_field(data, "category");
    t.status = detail::string_field(data, "status");
    t.tags = detail::string_list_field(data, "tags");
    t.created_at = detail::string_field(data, "createdAt");
    t.updated_at = detail::string_field(data, "updatedAt");
    return t;
  }
};

struct TicketCreated {
  static constexpr const char* event_name = "ticket.created";
  Event event;
  Ticket ticket;

  static TicketCreated from_event(const Event& e) { return {e, Ticket::from_json(e.data())}; }
};

struct TicketUpdated {
  static constexpr const char* event_name = "ticket.updated";
  Event event;
  Ticket ticket;
  // data.delta: the changes. Its shape is unpublished; null when absent.
  nlohmann::json delta;

  // Top-level keys of the delta, when it is an object.
  std::vector<std::string> changed_fields() const {
    std::vector<std::string> keys;
    if (delta.is_object()) {
      for (const auto& item : delta.items()) keys.push_back(item.key());
    }
    return keys;
  }

  static TicketUpdated from_event(const Event& e) {
    const auto& data = e.data();
    nlohmann::json delta;
    if (data.is_object()) {
      const auto it = data.find("delta");
      if (it != data.end()) delta = *it;
    }
    return {e, Ticket::from_json(data), std::move(delta)};
  }
};

struct Booking {
  std::string id;
  std::string status;
  std::string created_at;

  static Booking from_json(const nlohmann::json& data) {
    return {detail::string_field(data, "id"), detail::string_field(data, "status"),
            detail::string_field(data, "createdAt")};
  }
};

struct BookingAccepted {
  static constexpr const char* event_name = "booking.accepted";
  Event event;
  Booking booking;

  static BookingAccepted from_event(const Event& e) {
    return {e, Booking::from_json(e.data())};
  }
};

// A community (pinboard) article.
struct CommunityArticle {
  std::string id;
  std::string title;
  std::string content;
  std::string created_at;

  static CommunityArticle from_json(const nlohmann::json& data) {
    return {detail::string_field(data, "id"), detail::string_field(data, "title"),
            detail::string_field(data, "content"), detail::string_field(data, "createdAt")};
  }
};

struct CommunityArticlePublished {
  static constexpr const char* event_name = "community-article.published";
  Event event;
  CommunityArticle article;

  static CommunityArticlePublished from_event(const Event& e) {
    return {e, CommunityArticle::from_json(e.data())};
  }
};

}  // namespace allthings::webhooks
