#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "detail/crypto.hpp"
#include "error.hpp"
#include "event.hpp"
#include "options.hpp"

namespace allthings::webhooks {

// Reads the envelope (id, name, data, urn, createdDate) out of a body at the configured JSON
// pointers. Knows nothing of HTTP or signatures.
class EnvelopeParser {
 public:
  // Throws std::invalid_argument naming the field whose pointer is not a valid JSON pointer.
  explicit EnvelopeParser(const EnvelopePaths& paths)
      : id_(pointer(paths.id, "envelope.id")),
        name_(pointer(paths.name, "envelope.name")),
        data_(pointer(paths.data, "envelope.data")),
        urn_(pointer(paths.urn, "envelope.urn")),
        created_date_(pointer(paths.created_date, "envelope.created_date")) {}

  using Result = std::variant<std::shared_ptr<EventRecord>, ErrorKind>;

  Result parse(std::string raw_body, HeaderList headers,
               std::chrono::system_clock::time_point received_at) const {
    auto document = nlohmann::json::parse(raw_body, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) return ErrorKind::malformed_json;
    if (!document.is_object()) return ErrorKind::not_an_object;

    auto record = std::make_shared<EventRecord>();
    record->name = scalar_at(document, name_);
    if (record->name.empty()) return ErrorKind::missing_event_name;
    record->id = scalar_at(document, id_);
    if (record->id.empty()) record->id = "sha256:" + detail::to_hex(detail::sha256(raw_body));
    record->urn = scalar_at(document, urn_);
    record->created_date = scalar_at(document, created_date_);
    if (auto* data = find(document, data_)) record->data = std::move(*data);
    record->raw_body = std::move(raw_body);
    record->headers = std::move(headers);
    record->received_at = received_at;
    return record;
  }

 private:
  static nlohmann::json::json_pointer pointer(const std::string& text, const char* field) {
    try {
      return nlohmann::json::json_pointer(text);
    } catch (const nlohmann::json::exception&) {
      throw std::invalid_argument("Options." + std::string(field) +
                                  " is not a valid JSON pointer: \"" + text + "\"");
    }
  }

  // The value at `ptr`, or nullptr when any step of the path is missing or of the wrong type.
  static nlohmann::json* find(nlohmann::json& document,
                              const nlohmann::json::json_pointer& ptr) {
    try {
      return document.contains(ptr) ? &document.at(ptr) : nullptr;
    } catch (const nlohmann::json::exception&) {
      return nullptr;  // e.g. an array index that is not a number
    }
  }

  // Strings as they are, numbers as their JSON text; anything else counts as absent.
  static std::string scalar_at(nlohmann::json& document,
                               const nlohmann::json::json_pointer& ptr) {
    const auto* value = find(document, ptr);
    if (value == nullptr) return {};
    if (value->is_string()) return value->get<std::string>();
    if (value->is_number()) return value->dump();
    return {};
  }

  nlohmann::json::json_pointer id_, name_, data_, urn_, created_date_;
};

}  // namespace allthings::webhooks
