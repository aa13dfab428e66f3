#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "error.hpp"
#include "event.hpp"

namespace allthings::webhooks {

using EventHandler = std::function<void(const Event&)>;
using ErrorHandler = std::function<void(const Error&)>;

// Which event names a handler wants: "ticket.created" (exact), "ticket.*" (every name that
// starts with "ticket."), or "*" (every name).
class NamePattern {
 public:
  explicit NamePattern(std::string pattern) : pattern_(std::move(pattern)) {
    if (pattern_ == "*") {
      prefix_ = true;
      pattern_.clear();
    } else if (pattern_.size() >= 2 && pattern_.compare(pattern_.size() - 2, 2, ".*") == 0) {
      prefix_ = true;
      pattern_.pop_back();  // keep the dot: "ticket.*" must not match "tickets.x"
    }
  }

  bool matches(std::string_view name) const {
    if (!prefix_) return name == pattern_;
    return name.size() >= pattern_.size() && name.compare(0, pattern_.size(), pattern_) == 0;
  }

 private:
  std::string pattern_;
  bool prefix_ = false;
};

// The registered handlers, in registration order. A handler's index is its identity across
// retries (and, for a durable inbox, across restarts of the same program).
struct HandlerTable {
  struct Entry {
    NamePattern pattern;
    EventHandler handler;
  };
  std::vector<Entry> entries;
  EventHandler unhandled;
  ErrorHandler error;

  std::vector<std::size_t> matching(std::string_view name) const {
    std::vector<std::size_t> indices;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].pattern.matches(name)) indices.push_back(i);
    }
    return indices;
  }
};
namespace detail {

// Whether T can be registered with on<T>: it names its event and converts from an Event.
template <class T, class = void>
struct is_event_type : std::false_type {};
template <class T>
struct is_event_type<T, std::void_t<decltype(std::string(T::event_name)),
                                    decltype(T::from_event(std::declval<const Event&>()))>>
    : std::true_type {};

}  // namespace detail
}  // namespace allthings::webhooks
