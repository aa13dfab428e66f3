#pragma once

#include <memory>
#include <utility>

#include "../../error.hpp"
#include "counters.hpp"
#include "handler_registry.hpp"

namespace allthings::webhooks::detail {

// Counts every Error and hands it to the application's on_error callback, shielding the caller
// (an HTTP thread or a worker) from anything that callback throws.
class Reporter {
 public:
  Reporter(std::shared_ptr<HandlerRegistry> registry, std::shared_ptr<Counters> counters)
      : registry_(std::move(registry)), counters_(std::move(counters)) {}

  void report(const Error& error) const {
    Counters::bump(counters_->errors[static_cast<int>(error.kind)]);
    if (error.status >= 400) Counters::bump(counters_->rejected);
    const auto table = registry_->snapshot();
    if (!table->error) return;
    try {
      table->error(error);
    } catch (...) {
      // An error callback that fails has nowhere left to report to.
    }
  }

  Counters& counters() const { return *counters_; }

 private:
  std::shared_ptr<HandlerRegistry> registry_;
  std::shared_ptr<Counters> counters_;
};

}  // namespace allthings::webhooks::detail
