#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace allthings::webhooks {

// Request headers as received, names in lower case.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What one verified delivery carried. Built once on the HTTP thread, then shared read-only by
// every handler and retry of the event.
struct EventRecord {
  std::string id;
  std::string name;
  std::string urn;
  std::string created_date;
  std::string raw_body;
  HeaderList headers;
  std::chrono::system_clock::time_point received_at;
  // Where data() sits in raw_body; null: the body's root.
  std::shared_ptr<const nlohmann::json::json_pointer> data_path;

  // The envelope's data object (null when the body has none). Parsed from raw_body the first
  // time a handler asks, on that worker: acknowledging never waits for a JSON tree, and a
  // handler that never reads data() never pays for one. Thread-safe.
  const nlohmann::json& data() const {
    std::call_once(data_once_, [this] {
      if (!data_given_) data_ = extract_data();
    });
    return data_;
  }

  // For records built by hand (tests, custom inboxes): data() answers `data` as it is.
  void set_data(nlohmann::json data) {
    data_ = std::move(data);
    data_given_ = true;
  }

 private:
  nlohmann::json extract_data() const {
    auto document = nlohmann::json::parse(raw_body, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) return nullptr;
    if (!data_path) return document;
    try {
      return document.contains(*data_path) ? std::move(document.at(*data_path)) : nullptr;
    } catch (const nlohmann::json::exception&) {
      return nullptr;  // e.g. an array index that is not a number
    }
  }

  mutable std::once_flag data_once_;
  mutable nlohmann::json data_;
  bool data_given_ = false;
};

namespace detail {

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
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      value = value * 10 + (s[i] - '0');
    }
    return value;
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
  const long long days = days_from_civil(year, static_cast<unsigned>(month),
                                         static_cast<unsigned>(day));
  const long long seconds = days * 86400 + hour * 3600LL + minute * 60LL + second - offset_seconds;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(seconds) + std::chrono::microseconds(micros)));
}

}  // namespace detail

// A verified, de-duplicated event as handlers see it. Cheap to copy: copies share the record.
class Event {
 public:
  Event(std::shared_ptr<const EventRecord> record, int attempt)
      : record_(std::move(record)), attempt_(attempt) {}

  // The envelope's id, or "sha256:<hex of the raw body>" when the body carries none.
  const std::string& id() const { return record_->id; }
  // e.g. "ticket.created".
  const std::string& name() const { return record_->name; }
  // e.g. "urn:allthings:app:<app-uuid>:ticket:<id>"; empty when absent.
  const std::string& urn() const { return record_->urn; }
  // createdDate as sent; empty when absent.
  const std::string& created_date() const { return record_->created_date; }
  // createdDate parsed, when it is an ISO 8601 date-time.
  std::optional<std::chrono::system_clock::time_point> created() const {
    return detail::parse_iso8601(record_->created_date);
  }
  // The envelope's data object; null when the body has none.
  const nlohmann::json& data() const { return record_->data(); }
  // The request body exactly as signed.
  const std::string& raw_body() const { return record_->raw_body; }
  // The whole body parsed again (the envelope is not kept parsed beyond data()).
  nlohmann::json body_json() const { return nlohmann::json::parse(record_->raw_body); }
  const HeaderList& headers() const { return record_->headers; }
  // Value of a request header (name in any case), empty when absent.
  std::string header(std::string_view name) const {
    for (const auto& [key, value] : record_->headers) {
      if (key.size() == name.size() &&
          std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return value;
      }
    }
    return {};
  }
  std::chrono::system_clock::time_point received_at() const { return record_->received_at; }
  // 1 for the first delivery to handlers, 2 for the first retry, and so on.
  int attempt() const { return attempt_; }

  const std::shared_ptr<const EventRecord>& record() const { return record_; }

 private:
  std::shared_ptr<const EventRecord> record_;
  int attempt_;
};

}  // namespace allthings::webhooks
