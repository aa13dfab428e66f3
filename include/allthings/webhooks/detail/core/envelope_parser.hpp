#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../../event.hpp"
#include "../../options.hpp"
#include "../crypto/sha256.hpp"
#include "../text/json_scan.hpp"

namespace allthings::webhooks::detail {

// Reads the envelope (id, name, urn, createdDate) out of a body at the configured JSON pointers
// and checks that the body is a JSON object, in one pass without building a tree; the data
// object is parsed later, on a worker, when a handler asks for it. Knows nothing of HTTP or
// signatures.
class EnvelopeParser {
 public:
  // Throws std::invalid_argument naming the field whose pointer is not a valid JSON pointer.
  // Bodies with more than `max_depth` arrays and objects open at once are refused.
  EnvelopeParser(const EnvelopePaths& paths, std::size_t max_depth)
      : scanner_({tokens(paths.id, "envelope.id"), tokens(paths.name, "envelope.name"),
                  tokens(paths.urn, "envelope.urn"),
                  tokens(paths.created_date, "envelope.created_date")}),
        data_path_(std::make_shared<const nlohmann::json::json_pointer>(
            pointer(paths.data, "envelope.data"))),
        max_depth_(max_depth) {}

  using Result = std::variant<std::shared_ptr<EventRecord>, ErrorKind>;

  // `id` and `name`, when not empty, are the event's own (a scheme read them from headers)
  // and take the place of the body's.
  Result parse(std::string raw_body, HeaderList headers,
               std::chrono::system_clock::time_point received_at, std::string id = {},
               std::string name = {}) const {
    auto scan = scanner_.scan(raw_body, max_depth_);
    if (scan.shape == JsonShape::malformed) return ErrorKind::malformed_json;
    if (scan.shape == JsonShape::too_deep) return ErrorKind::too_deeply_nested;
    if (scan.shape == JsonShape::not_an_object) return ErrorKind::not_an_object;
    if (name.empty()) name = std::move(scan.values[name_field]).value_or(std::string());
    if (name.empty()) return ErrorKind::missing_event_name;

    auto record = std::make_shared<EventRecord>();
    record->name = std::move(name);
    record->id =
        !id.empty() ? std::move(id) : std::move(scan.values[id_field]).value_or(std::string());
    if (record->id.empty()) record->id = "sha256:" + to_hex(sha256(raw_body));
    record->urn = std::move(scan.values[urn_field]).value_or(std::string());
    record->created_date = std::move(scan.values[created_date_field]).value_or(std::string());
    record->data_path = data_path_;
    record->raw_body = std::move(raw_body);
    record->headers = std::move(headers);
    record->received_at = received_at;
    return record;
  }

 private:
  // The fields' places among the scanner's pointers, in the constructor's order.
  enum Field : std::size_t { id_field, name_field, urn_field, created_date_field, field_count };

  static nlohmann::json::json_pointer pointer(const std::string& text, const char* field) {
    try {
      return nlohmann::json::json_pointer(text);
    } catch (const nlohmann::json::exception&) {
      throw std::invalid_argument("Options." + std::string(field) +
                                  " is not a valid JSON pointer: \"" + text + "\"");
    }
  }

  // The pointer's reference tokens, unescaped, root first.
  static std::vector<std::string> tokens(const std::string& text, const char* field) {
    auto ptr = pointer(text, field);
    std::vector<std::string> out;
    while (!ptr.empty()) {
      out.insert(out.begin(), ptr.back());
      ptr.pop_back();
    }
    return out;
  }

  PointerScanner<field_count> scanner_;
  std::shared_ptr<const nlohmann::json::json_pointer> data_path_;
  std::size_t max_depth_;
};

}  // namespace allthings::webhooks::detail
