#pragma once

// A length of time as the user writes it: a whole number and a unit, s, m, h or d ("90m",
// "6h", "7d").
#include <chrono>
#include <string>

#include "command.hpp"

namespace allthings::webhooks::tool {

inline std::chrono::seconds parse_duration(const std::string& text, const std::string& option) {
  const auto bad = [&] {
    return UsageError(option + " wants a positive whole number and a unit s, m, h or d (e.g. "
                               "90m, 6h, 7d), got '" + text + "'");
  };
  if (text.size() < 2 || text.size() > 12) throw bad();
  const std::string digits = text.substr(0, text.size() - 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos) throw bad();
  const long long count = std::stoll(digits);
  if (count <= 0) throw bad();
  switch (text.back()) {
    case 's': return std::chrono::seconds(count);
    case 'm': return std::chrono::minutes(count);
    case 'h': return std::chrono::hours(count);
    case 'd': return std::chrono::hours(24 * count);
    default: throw bad();
  }
}

}  // namespace allthings::webhooks::tool
