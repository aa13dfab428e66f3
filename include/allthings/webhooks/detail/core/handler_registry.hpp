#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "../../handlers.hpp"

namespace allthings::webhooks::detail {

// Registration may happen while workers run: writers copy the table, readers take an immutable
// snapshot, so a handler call never holds a lock.
class HandlerRegistry {
 public:
  std::shared_ptr<const HandlerTable> snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return table_;
  }

  void update(const std::function<void(HandlerTable&)>& change) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto copy = std::make_shared<HandlerTable>(*table_);
    change(*copy);
    table_ = std::move(copy);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const HandlerTable> table_ = std::make_shared<HandlerTable>();
};

}  // namespace allthings::webhooks::detail
