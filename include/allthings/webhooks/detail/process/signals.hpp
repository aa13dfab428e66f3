#pragma once

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "thread_name.hpp"

// SIGTERM and SIGINT turned into calls on an ordinary thread. The signal handler does only
// what is async-signal-safe: it writes the signal's number to a pipe (the self-pipe trick). A
// watcher thread reads the pipe and calls the subscribers, where anything may be done. This
// works whichever thread the kernel picks for the signal, so the application need not block
// signals before starting its threads.
namespace allthings::webhooks::detail {

// Written once, before the first handler is installed; read by the handler.
inline std::atomic<int> signal_pipe_write_end{-1};

inline void write_signal_to_pipe(int signal_number) {
  const int saved_errno = errno;  // the interrupted code may be about to read errno
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  // Non-blocking: with the pipe full, more signals add nothing anyway.
  [[maybe_unused]] const auto written =
      ::write(signal_pipe_write_end.load(std::memory_order_relaxed), &byte, 1);
  errno = saved_errno;
}

class SignalWatcher {
 public:
  using Subscriber = std::function<void(int signal_number)>;

  // One per process, never destroyed: a signal may arrive while static objects are destroyed.
  static SignalWatcher& instance() {
    static SignalWatcher* const watcher = new SignalWatcher();
    return *watcher;
  }

  // Calls `subscriber` on the watcher thread for every SIGTERM and SIGINT from now on. The
  // first subscription installs the handlers; signals ignored when it came (SIG_IGN, as a
  // shell leaves SIGINT for background jobs) stay ignored. Returns the key for unsubscribe().
  std::uint64_t subscribe(Subscriber subscriber) {
    std::lock_guard<std::mutex> lock(mutex_);
    start_thread_once();
    if (subscribers_.empty()) install_handlers();
    subscribers_.emplace(++last_key_, std::move(subscriber));
    return last_key_;
  }

  // Once it returns, the subscriber is not running and will not be called again. The last one
  // gone puts the previous handlers back, so the signals stop the process as before.
  void unsubscribe(std::uint64_t key) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (subscribers_.erase(key) > 0 && subscribers_.empty()) restore_handlers();
  }

 private:
  static constexpr int watched[] = {SIGTERM, SIGINT};

  SignalWatcher() = default;

  void start_thread_once() {
    if (read_end_ >= 0) return;
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("cannot create the signal pipe");
    ::fcntl(ends[1], F_SETFL, ::fcntl(ends[1], F_GETFL) | O_NONBLOCK);
    read_end_ = ends[0];
    signal_pipe_write_end.store(ends[1], std::memory_order_relaxed);
    std::thread([this] {
      name_this_thread("aw-signals");
      watch();
    }).detach();  // lives as long as the process
  }

  void install_handlers() {
    for (std::size_t i = 0; i < std::size(watched); ++i) {
      struct sigaction action {};
      action.sa_handler = write_signal_to_pipe;
      sigemptyset(&action.sa_mask);
      action.sa_flags = SA_RESTART;
      ::sigaction(watched[i], nullptr, &previous_[i]);
      if (previous_[i].sa_handler == SIG_IGN) continue;
      ::sigaction(watched[i], &action, nullptr);
    }
  }

  void restore_handlers() {
    for (std::size_t i = 0; i < std::size(watched); ++i) {
      ::sigaction(watched[i], &previous_[i], nullptr);
    }
  }

  void watch() {
    for (;;) {
      unsigned char byte = 0;
      const auto n = ::read(read_end_, &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      // Called under the lock, so that unsubscribe() waits for a running call.
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [key, subscriber] : subscribers_) {
        try {
          subscriber(byte);
        } catch (...) {
          // A failing subscriber must not end the watcher.
        }
      }
    }
  }

  std::mutex mutex_;
  std::map<std::uint64_t, Subscriber> subscribers_;
  std::uint64_t last_key_ = 0;
  int read_end_ = -1;
  struct sigaction previous_[std::size(watched)]{};
};

}  // namespace allthings::webhooks::detail
