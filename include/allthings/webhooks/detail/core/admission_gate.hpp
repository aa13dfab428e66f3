#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace allthings::webhooks::detail {

// Lets requests into the inbox until it is closed, and lets the closer wait until the requests
// already let in have finished: a request whose body was still arriving when stop() began is
// then either refused (503) or accepted before the workers drain, never acknowledged into an
// inbox nobody reads any more.
class AdmissionGate {
 public:
  // One request inside the gate, for as long as it lives; false when the gate was closed.
  class Pass {
   public:
    explicit Pass(AdmissionGate& gate) : gate_(gate), admitted_(gate.enter()) {}
    ~Pass() {
      if (admitted_) gate_.leave();
    }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    explicit operator bool() const { return admitted_; }

   private:
    AdmissionGate& gate_;
    bool admitted_;
  };

  bool is_open() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return open_;
  }

  // Refuses every later request; returns at once.
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }

  // Refuses every later request and waits until the ones inside have left.
  void close_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    open_ = false;
    left_cv_.wait(lock, [this] { return inside_ == 0; });
  }

 private:
  bool enter() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return false;
    ++inside_;
    return true;
  }

  void leave() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--inside_ == 0) left_cv_.notify_all();
  }

  mutable std::mutex mutex_;
  std::condition_variable left_cv_;
  std::size_t inside_ = 0;
  bool open_ = true;
};

}  // namespace allthings::webhooks::detail
