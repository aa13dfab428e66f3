#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detail/text/ascii.hpp"
#include "detail/text/iso8601.hpp"

namespace allthings::webhooks {

// Request headers as received; the Receiver lower-cases their names.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The value of the header `name` (compared without regard to case); nullopt when absent.
inline std::optional<std::string_view> find_header(const HeaderList& headers,
                                                   std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (detail::equals_ignoring_case(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

// Where an event came from: pushed to us by the sender (and verified), or read back from the
// sender's delivery history over its authenticated API (see reconcile/reconciler.hpp).
enum class EventOrigin { delivered, recovered };

inline const char* to_string(EventOrigin origin) {
  return origin == EventOrigin::recovered ? "recovered" : "delivered";
}

// Durable inboxes store a recovered event's origin as this header with the value "recovered"
// (they keep headers, so no schema change). The leading colon makes it a name no HTTP/1.1
// request can carry; the Receiver drops it from requests anyway, so a sender cannot forge it.
inline constexpr std::string_view origin_header = ":origin";

inline EventOrigin origin_from_headers(const HeaderList& headers) {
  const auto value = find_header(headers, origin_header);
  return value && *value == "recovered" ? EventOrigin::recovered : EventOrigin::delivered;
}

// What one verified delivery carried. Built once on the HTTP thread, then shared read-only by
// every handler and retry of the event.
struct EventRecord {
  std::string id;
  std::string name;
  std::string urn;
  std::string created_date;
  std::string raw_body;
  HeaderList headers;
  std::chrono::system_clock::time_point received_at;
  EventOrigin origin = EventOrigin::delivered;
  // Where data() sits in raw_body; null: the body's root.
  std::shared_ptr<const nlohmann::json::json_pointer> data_path;

  // The envelope's data object (null when the body has none). Parsed from raw_body the first
  // time a handler asks, on that worker: acknowledging never waits for a JSON tree, and a
  // handler that never reads data() never pays for one. Thread-safe.
  const nlohmann::json& data() const {
    std::call_once(data_once_, [this] {
      if (!data_given_) data_ = extract_data();
    });
    return data_;
  }

  // For records built by hand (tests, custom inboxes): data() answers `data` as it is.
  void set_data(nlohmann::json data) {
    data_ = std::move(data);
    data_given_ = true;
  }

 private:
  nlohmann::json extract_data() const {
    auto document = nlohmann::json::parse(raw_body, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) return nullptr;
    if (!data_path) return document;
    try {
      return document.contains(*data_path) ? std::move(document.at(*data_path)) : nullptr;
    } catch (const nlohmann::json::exception&) {
      return nullptr;  // e.g. an array index that is not a number
    }
  }

  mutable std::once_flag data_once_;
  mutable nlohmann::json data_;
  bool data_given_ = false;
};

// A verified, de-duplicated event as handlers see it. Cheap to copy: copies share the record.
class Event {
 public:
  Event(std::shared_ptr<const EventRecord> record, int attempt)
      : record_(std::move(record)), attempt_(attempt) {}

  // The envelope's id, or "sha256:<hex of the raw body>" when the body carries none.
  const std::string& id() const { return record_->id; }
  // e.g. "ticket.created".
  const std::string& name() const { return record_->name; }
  // e.g. "urn:allthings:app:<app-uuid>:ticket:<id>"; empty when absent.
  const std::string& urn() const { return record_->urn; }
  // createdDate as sent; empty when absent.
  const std::string& created_date() const { return record_->created_date; }
  // createdDate parsed, when it is an ISO 8601 date-time that system_clock can hold (years
  // 1678 to 2262 with 64-bit nanoseconds); nullopt otherwise.
  std::optional<std::chrono::system_clock::time_point> created() const {
    return detail::parse_iso8601(record_->created_date);
  }
  // The envelope's data object; null when the body has none.
  const nlohmann::json& data() const { return record_->data(); }
  // The request body exactly as signed.
  const std::string& raw_body() const { return record_->raw_body; }
  // The whole body parsed again (the envelope is not kept parsed beyond data()).
  nlohmann::json body_json() const { return nlohmann::json::parse(record_->raw_body); }
  const HeaderList& headers() const { return record_->headers; }
  // Value of a request header (name in any case), empty when absent.
  std::string header(std::string_view name) const {
    return std::string(find_header(record_->headers, name).value_or(std::string_view()));
  }
  std::chrono::system_clock::time_point received_at() const { return record_->received_at; }
  // delivered (pushed by the sender) or recovered (read back by a Reconciler).
  EventOrigin origin() const { return record_->origin; }
  // 1 for the first delivery to handlers, 2 for the first retry, and so on.
  int attempt() const { return attempt_; }

  const std::shared_ptr<const EventRecord>& record() const { return record_; }

 private:
  std::shared_ptr<const EventRecord> record_;
  int attempt_;
};

}  // namespace allthings::webhooks
