#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "../../logging.hpp"

namespace allthings::webhooks::detail {

// The application's log hook behind a level check, so a record below the level (or with no
// hook) costs one comparison and builds nothing. Never throws.
class Logger {
 public:
  Logger(LogHandler handler, LogLevel level) : handler_(std::move(handler)), level_(level) {}

  bool enabled(LogLevel level) const { return handler_ && level >= level_; }

  void log(LogLevel level, std::string_view message, const std::vector<LogField>& fields) const {
    if (!enabled(level)) return;
    try {
      handler_(level, message, fields);
    } catch (...) {
      // A failing log hook must not fail a request or an event.
    }
  }

 private:
  LogHandler handler_;
  LogLevel level_;
};

}  // namespace allthings::webhooks::detail
