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
// Only the application type: "multipart/form-data+json" would make cpp-httplib parse the body
// as multipart.
inline bool is_json_media_type(std::string_view media_type) {
  const std::string_view application = "application/";
  if (media_type.size() <= application.size() ||
      !equals_ignoring_case(media_type.substr(0, application.size()), application)) {
    return false;
  }
  const auto subtype = media_type.substr(application.size());
  if (subtype.find_first_of("/ \t") != std::string_view::npos) return false;
  const std::string_view suffix = "+json";
  return equals_ignoring_case(subtype, "json") ||
         (subtype.size() > suffix.size() &&
          equals_ignoring_case(subtype.substr(subtype.size() - suffix.size()), suffix));
}

}  // namespace allthings::webhooks::detail
