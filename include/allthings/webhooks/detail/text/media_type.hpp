#pragma once

#include <string_view>

#include "ascii.hpp"

namespace allthings::webhooks::detail {

// The media type of a Content-Type value: "application/json" for
// "application/json; charset=utf-8", without blanks around it.
inline std::string_view media_type_of(std::string_view content_type) {
  return trim(content_type.substr(0, content_type.find(';')));
}

// "application/json" or a structured "+json" type such as "application/vnd.x+json", any case.
inline bool is_json_media_type(std::string_view media_type) {
  const std::string_view suffix = "+json";
  return equals_ignoring_case(media_type, "application/json") ||
         (media_type.size() > suffix.size() &&
          equals_ignoring_case(media_type.substr(media_type.size() - suffix.size()), suffix));
}

}  // namespace allthings::webhooks::detail
