#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../../event.hpp"
#include "../../options.hpp"
#include "../../scheme.hpp"
#include "../crypto/sha256.hpp"
#include "../text/json_scan.hpp"

namespace allthings::webhooks::detail {

// Reads the envelope (id, name, urn, createdDate) out of a body at the configured JSON pointers
// and checks that the body is a JSON object, in one pass without building a tree; the data
// object is parsed later, on a worker, when a handler asks for it. A scheme may name the event
// from headers instead, and may accept opaque (non-JSON) bodies, which are never parsed. Knows
// nothing of HTTP or signatures.
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

  // `id` and `name`, when not empty, are the event's own (read from headers) and take the
  // place of the body's.
  Result parse(std::string raw_body, HeaderList headers,
               std::chrono::system_clock::time_point received_at, std::string id = {},
               std::string name = {}) const {
    return parse_json(std::move(raw_body), std::move(headers), received_at,
                      [&](const HeaderList&, std::string_view, EventIdentity from_body) {
                        if (!id.empty()) from_body.id = std::move(id);
                        if (!name.empty()) from_body.name = std::move(name);
                        return from_body;
                      });
  }

  // A delivery read as `reading` says (its scheme's BodyFormat::read_as), named by `scheme`.
  Result parse(std::string raw_body, HeaderList headers,
               std::chrono::system_clock::time_point received_at, const Scheme& scheme,
               BodyFormat::Reading reading) const {
    if (reading == BodyFormat::Reading::opaque) {
      auto identity = scheme.identify(headers, raw_body, std::nullopt);
      return build(std::move(raw_body), std::move(headers), received_at, std::move(identity), {},
                   {}, /*opaque=*/true);
    }
    return parse_json(std::move(raw_body), std::move(headers), received_at,
                      [&scheme](const HeaderList& h, std::string_view body, EventIdentity fields) {
                        return scheme.identify(h, body, std::move(fields));
                      });
  }

 private:
  // The fields' places among the scanner's pointers, in the constructor's order.
  enum Field : std::size_t { id_field, name_field, urn_field, created_date_field, field_count };

  // A body that must be a JSON object; `identify(headers, body, fields)` names the event from
  // what the body holds at the id and name pointers.
  template <class Identify>
  Result parse_json(std::string raw_body, HeaderList headers,
                    std::chrono::system_clock::time_point received_at, Identify&& identify) const {
    auto scan = scanner_.scan(raw_body, max_depth_);
    if (scan.shape == JsonShape::malformed) return ErrorKind::malformed_json;
    if (scan.shape == JsonShape::too_deep) return ErrorKind::too_deeply_nested;
    if (scan.shape == JsonShape::not_an_object) return ErrorKind::not_an_object;
    EventIdentity fields{std::move(scan.values[id_field]).value_or(std::string()),
                         std::move(scan.values[name_field]).value_or(std::string())};
    auto identity = identify(headers, std::string_view(raw_body), std::move(fields));
    return build(std::move(raw_body), std::move(headers), received_at, std::move(identity),
                 std::move(scan.values[urn_field]).value_or(std::string()),
                 std::move(scan.values[created_date_field]).value_or(std::string()),
                 /*opaque=*/false);
  }

  Result build(std::string raw_body, HeaderList headers,
               std::chrono::system_clock::time_point received_at, EventIdentity identity,
               std::string urn, std::string created_date, bool opaque) const {
    if (identity.name.empty()) return ErrorKind::missing_event_name;
    auto record = std::make_shared<EventRecord>();
    record->name = std::move(identity.name);
    record->id =
        !identity.id.empty() ? std::move(identity.id) : "sha256:" + to_hex(sha256(raw_body));
    record->urn = std::move(urn);
    record->created_date = std::move(created_date);
    if (opaque) {
      record->set_data(nullptr);  // not JSON: handlers read raw_body()
    } else {
      record->data_path = data_path_;
    }
    record->raw_body = std::move(raw_body);
    record->headers = std::move(headers);
    record->received_at = received_at;
    return record;
  }

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

// The pointers a receiver reads JSON bodies at: its scheme's own, else Options::envelope.
inline const EnvelopePaths& envelope_for(const Scheme& scheme, const Options& options) {
  const auto& own = scheme.body_format().envelope;
  return own ? *own : options.envelope;
}

}  // namespace allthings::webhooks::detail
