#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace allthings::webhooks::detail {

// Appends `text` as a JSON string, as nlohmann/json would write it. Printable ASCII (nearly
// every id and header) is copied as it is, without building a json value; anything else goes
// through nlohmann/json, which escapes it and, on invalid UTF-8, throws or replaces the bytes
// as `on_invalid_utf8` says.
inline void append_json_string(
    std::string& out, std::string_view text,
    nlohmann::json::error_handler_t on_invalid_utf8 = nlohmann::json::error_handler_t::strict) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (plain) {
    out += '"';
    out += text;
    out += '"';
    return;
  }
  out += nlohmann::json(std::string(text)).dump(-1, ' ', false, on_invalid_utf8);
}

}  // namespace allthings::webhooks::detail
