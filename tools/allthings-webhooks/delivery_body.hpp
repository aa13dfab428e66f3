#pragma once

// The body `send --event NAME --data JSON` posts: the event placed where the scheme's receiver
// looks for its id, name and data (Options::envelope for Allthings).
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <allthings/webhooks.hpp>
#include <nlohmann/json.hpp>

#include "command.hpp"

namespace allthings::webhooks::tool {

// "@FILE" reads FILE; anything else is the text itself.
inline std::string text_or_file(const std::string& value, const char* option) {
  if (value.empty() || value[0] != '@') return value;
  std::ifstream in(value.substr(1), std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot read ") + option + " file " + value.substr(1));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline nlohmann::json parse_data(const std::string& text) {
  auto data = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (data.is_discarded()) throw UsageError("--data is not JSON");
  return data;
}

// Ids go in the body even for schemes that take them from headers (GitHub, Shopify, Standard
// Webhooks derive those from the body's hash), so each of a load's deliveries is unique.
inline std::string delivery_body(const Scheme& scheme, const std::string& id,
                                 const std::string& name, const nlohmann::json& data) {
  const auto envelope = scheme.body_format().envelope.value_or(EnvelopePaths{});
  nlohmann::json body = nlohmann::json::object();
  const auto put = [&](const std::string& pointer, nlohmann::json value) {
    if (pointer.empty()) return false;
    body[nlohmann::json::json_pointer(pointer)] = std::move(value);
    return true;
  };
  if (envelope.data.empty() && data.is_object()) {
    body = data;  // the body is the data (GitHub, Shopify)
  } else {
    put(envelope.data, data);
  }
  if (!put(envelope.id, id)) body["id"] = id;
  if (!name.empty()) put(envelope.name, name);
  return body.dump();
}

}  // namespace allthings::webhooks::tool
