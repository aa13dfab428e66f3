#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "../../error.hpp"
#include "../../logging.hpp"
#include "counters.hpp"
#include "handler_registry.hpp"
#include "logger.hpp"

namespace allthings::webhooks::detail {

// Every Error passes here: it is counted, logged, and handed to the application's on_error
// callback, shielding the caller (an HTTP thread or a worker) from anything that callback
// throws.
class Reporter {
 public:
  Reporter(std::shared_ptr<HandlerRegistry> registry, std::shared_ptr<Counters> counters,
           Logger logger = Logger(nullptr, LogLevel::error))
      : registry_(std::move(registry)),
        counters_(std::move(counters)),
        logger_(std::move(logger)) {}

  void report(const Error& error) const {
    Counters::bump(counters_->errors[static_cast<int>(error.kind)]);
    if (error.status >= 400) Counters::bump(counters_->rejected);
    if (error.status != 0)
      counters_->requests.count(RequestTally::row_of(error.kind), error.status);
    log(error);
    const auto table = registry_->snapshot();
    if (!table->error) return;
    try {
      table->error(error);
    } catch (...) {
      // An error callback that fails has nowhere left to report to.
    }
  }

  Counters& counters() const { return *counters_; }
  const Logger& logger() const { return logger_; }

 private:
  static LogLevel level_of(const Error& error) {
    switch (error.kind) {
      case ErrorKind::queue_full:
      case ErrorKind::handler_failed: return LogLevel::warning;
      case ErrorKind::inbox_unavailable:
      case ErrorKind::internal_error:
      case ErrorKind::dead_lettered:
      case ErrorKind::undelivered_at_stop: return LogLevel::error;
      default: return LogLevel::info;  // refused requests: the sender's problem, not ours
    }
  }

  // Only what the Error holds: kinds, statuses, ids, names and fixed texts. A handler's
  // exception text is the one message the application wrote itself.
  void log(const Error& error) const {
    const LogLevel level = level_of(error);
    if (!logger_.enabled(level)) return;
    const bool handler_failed = error.kind == ErrorKind::handler_failed;
    std::vector<LogField> fields{{"error.type", to_string(error.kind)}};
    if (error.status != 0) fields.emplace_back("http.response.status_code", error.status);
    if (!error.event_id.empty()) fields.emplace_back("event.id", error.event_id);
    if (!error.event_name.empty()) fields.emplace_back("event.name", error.event_name);
    if (error.attempt > 0) fields.emplace_back("attempt", error.attempt);
    if (handler_failed) fields.emplace_back("exception.message", error.message);
    logger_.log(level, handler_failed ? "handler failed" : std::string_view(error.message), fields);
  }

  std::shared_ptr<HandlerRegistry> registry_;
  std::shared_ptr<Counters> counters_;
  Logger logger_;
};

}  // namespace allthings::webhooks::detail
