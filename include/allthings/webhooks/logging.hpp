#pragma once

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "detail/text/json_text.hpp"

// Structured logs: a hook that receives (level, message, fields), and a ready writer of JSON
// Lines. Records carry ids, names, statuses, outcomes and durations; never a secret, a
// signature or a body.
namespace allthings::webhooks {

enum class LogLevel { debug, info, warning, error };

inline const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO";
    case LogLevel::warning: return "WARN";
    case LogLevel::error: return "ERROR";
  }
  return "INFO";
}

// One attribute of a log record, named as OpenTelemetry's conventions name it where they have
// a name ("event.id", "event.name", "error.type", "http.response.status_code") and plainly
// otherwise ("outcome", "duration" in seconds, "attempt"). Text views memory that lives only
// during the call: copy what you keep.
struct LogField {
  using Value = std::variant<std::string_view, std::int64_t, double>;

  LogField(std::string_view key, std::string_view text) : key(key), value(text) {}
  LogField(std::string_view key, const char* text) : key(key), value(std::string_view(text)) {}
  LogField(std::string_view key, const std::string& text)
      : key(key), value(std::string_view(text)) {}
  template <
      class Integer,
      std::enable_if_t<std::is_integral_v<Integer> && !std::is_same_v<Integer, bool>, int> = 0>
  LogField(std::string_view key, Integer number)
      : key(key), value(static_cast<std::int64_t>(number)) {}
  LogField(std::string_view key, double number) : key(key), value(number) {}

  std::string_view key;
  Value value;
};

// Called from HTTP threads and workers at once: must be thread-safe, should be quick, and
// anything it throws is swallowed.
using LogHandler =
    std::function<void(LogLevel level, std::string_view message, const std::vector<LogField>&)>;

// Formats one record as a JSON object on one line (no newline), with OpenTelemetry's log
// record fields: timestamp (RFC 3339, UTC), severity_text, severity_number, body, then the
// attributes.
inline std::string json_log_line(std::chrono::system_clock::time_point at, LogLevel level,
                                 std::string_view message, const std::vector<LogField>& fields) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const time_t seconds = static_cast<time_t>(millis / 1000);
  tm utc{};
  ::gmtime_r(&seconds, &utc);
  char timestamp[80];  // room for any int the format could print
  std::snprintf(timestamp, sizeof timestamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<int>(millis % 1000));
  static constexpr int severity_numbers[] = {5, 9, 13, 17};  // OpenTelemetry's DEBUG..ERROR

  const auto replace = nlohmann::json::error_handler_t::replace;  // a log line never throws
  std::string line = "{\"timestamp\":\"";
  line += timestamp;
  line += "\",\"severity_text\":\"";
  line += to_string(level);
  line += "\",\"severity_number\":";
  line += std::to_string(severity_numbers[static_cast<int>(level)]);
  line += ",\"body\":";
  detail::append_json_string(line, message, replace);
  for (const auto& field : fields) {
    line += ',';
    detail::append_json_string(line, field.key, replace);
    line += ':';
    if (const auto* text = std::get_if<std::string_view>(&field.value)) {
      detail::append_json_string(line, *text, replace);
    } else if (const auto* integer = std::get_if<std::int64_t>(&field.value)) {
      line += std::to_string(*integer);
    } else {
      const double number = std::get<double>(field.value);
      char formatted[32] = "null";
      if (std::isfinite(number)) std::snprintf(formatted, sizeof formatted, "%.9g", number);
      line += formatted;
    }
  }
  line += '}';
  return line;
}

// A LogHandler writing JSON Lines to `out` (e.g. std::clog), one whole line per record even
// when threads log at once. `out` must outlive every receiver using the handler.
inline LogHandler json_lines_log(std::ostream& out) {
  struct Sink {
    std::mutex mutex;
    std::ostream* out;
  };
  auto sink = std::make_shared<Sink>();
  sink->out = &out;
  return [sink](LogLevel level, std::string_view message, const std::vector<LogField>& fields) {
    std::string line = json_log_line(std::chrono::system_clock::now(), level, message, fields);
    line += '\n';
    std::lock_guard<std::mutex> lock(sink->mutex);
    sink->out->write(line.data(), static_cast<std::streamsize>(line.size()));
    sink->out->flush();
  };
}

}  // namespace allthings::webhooks
