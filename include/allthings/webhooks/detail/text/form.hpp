#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "hex.hpp"

// application/x-www-form-urlencoded bodies, as Slack sends slash commands and interactions.
namespace allthings::webhooks::detail {

// The text of a form-encoded name or value: '+' is a blank, %XX a byte. nullopt when a '%' is
// not followed by two hex digits.
inline std::optional<std::string> decode_form_component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_digit_value(text[i + 1]);
      const int low = hex_digit_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

// The decoded value of the first field called `name` in a form-encoded body; nullopt when
// there is none or it is not validly encoded.
inline std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const auto end = body.find('&');
    const auto pair = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    const auto equals = pair.find('=');
    const auto key = decode_form_component(pair.substr(0, equals));
    if (!key || *key != name) continue;
    if (equals == std::string_view::npos) return std::string();
    return decode_form_component(pair.substr(equals + 1));
  }
  return std::nullopt;
}

}  // namespace allthings::webhooks::detail
