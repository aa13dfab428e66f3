#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

#include "ascii.hpp"

namespace allthings::webhooks::detail {

inline int days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)", the API's date-time format.
inline std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s) {
  auto number = [&s](std::size_t pos, std::size_t len) -> int {
    if (pos + len > s.size()) return -1;
    const auto value = parse_decimal(s.substr(pos, len));
    return value ? static_cast<int>(*value) : -1;
  };
  auto at = [&s](std::size_t pos, char c) { return pos < s.size() && s[pos] == c; };
  const int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const int hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60 || !at(4, '-') || !at(7, '-') ||
      !(at(10, 'T') || at(10, 't') || at(10, ' ')) || !at(13, ':') || !at(16, ':')) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  long long micros = 0;
  if (at(pos, '.')) {
    ++pos;
    long long scale = 100000;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  long long offset_seconds = 0;
  if (at(pos, 'Z') || at(pos, 'z')) {
    ++pos;
  } else if (at(pos, '+') || at(pos, '-')) {
    const int oh = number(pos + 1, 2), om = number(pos + 4, 2);
    if (oh < 0 || om < 0 || !at(pos + 3, ':')) return std::nullopt;
    offset_seconds = (oh * 3600LL + om * 60LL) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const long long days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const long long seconds = days * 86400 + hour * 3600LL + minute * 60LL + second - offset_seconds;
  // system_clock counts nanoseconds in 64 bits on common platforms: years 1678 to 2262. A date
  // outside what it holds has no time_point (converting it would overflow).
  using Duration = std::chrono::system_clock::duration;
  constexpr auto latest = std::chrono::duration_cast<std::chrono::seconds>(Duration::max()).count();
  constexpr auto earliest =
      std::chrono::duration_cast<std::chrono::seconds>(Duration::min()).count();
  if (seconds >= latest || seconds <= earliest) return std::nullopt;  // a second spare for micros
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<Duration>(
      std::chrono::seconds(seconds) + std::chrono::microseconds(micros)));
}

}  // namespace allthings::webhooks::detail
