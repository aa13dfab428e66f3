#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace allthings::webhooks {

// An event read back from the sender over an authenticated API (Allthings' Webhooks API keeps
// every delivery for 30 days), for Receiver::accept_recovered. No signature: the API's
// authentication stands in for it.
struct RecoveredEvent {
  std::string id;            // the event's id: the same one its live delivery carries
  std::string name;          // e.g. "ticket.created"
  std::string urn;           // may be empty
  std::string created_date;  // as the API wrote it; may be empty
  nlohmann::json data;       // the event's payload, parsed
};

}  // namespace allthings::webhooks
