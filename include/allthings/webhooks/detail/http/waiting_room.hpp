#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "../../error.hpp"
#include "../process/thread_name.hpp"
#include "connection.hpp"
#include "request_head.hpp"

// Where the guarded server's connections wait while they hold no complete request: a new
// connection until its head has arrived, a kept-alive one until its next request's head has,
// a closing one until the client stopped sending. One thread polls them all, so a client that
// sends its head slowly, or keeps its connection idle, costs a socket and at most the head
// budget of memory, never a thread: the threads serve only requests whose head is complete.
namespace allthings::webhooks::detail {

// A self-pipe: one thread wakes another out of poll().
class WakePipe {
 public:
  WakePipe() {
    if (::pipe(fds_) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    for (const int fd : fds_) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  ~WakePipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  WakePipe(const WakePipe&) = delete;
  WakePipe& operator=(const WakePipe&) = delete;

  int read_end() const { return fds_[0]; }
  void wake() {
    const char byte = 1;
    [[maybe_unused]] const auto ignored = ::write(fds_[1], &byte, 1);  // full: already woken
  }
  void drain() {
    char bytes[64];
    while (::read(fds_[0], bytes, sizeof bytes) > 0) {
    }
  }

 private:
  int fds_[2];
};

class WaitingRoom {
 public:
  struct Settings {
    HeadLimits head_limits;
    std::chrono::milliseconds header_timeout;      // a head, from its connection's arrival
    std::chrono::milliseconds keep_alive_timeout;  // idle between requests
    std::chrono::milliseconds linger_time;         // reading what follows an early answer
  };
  // Takes a connection whose next request's head is complete (called on the room's thread).
  using Ready = std::function<void(std::unique_ptr<Connection>, RequestHead)>;
  // The answer to a head refused or too slow, as the bytes to send.
  using Refuse = std::function<std::string(ErrorKind, const char*)>;

  WaitingRoom(Settings settings, Ready ready, Refuse refuse)
      : settings_(settings), ready_(std::move(ready)), refuse_(std::move(refuse)) {
    thread_ = std::thread([this] {
      name_this_thread("aw-room");
      run();
    });
  }
  ~WaitingRoom() { stop(); }
  WaitingRoom(const WaitingRoom&) = delete;
  WaitingRoom& operator=(const WaitingRoom&) = delete;

  // A new connection: its first head must be complete within header_timeout.
  void admit(std::unique_ptr<Connection> connection) {
    add(std::move(connection), Wait::head, settings_.header_timeout);
  }

  // A connection between requests, holding the start of the next one or nothing: then it may
  // stay idle for keep_alive_timeout, and its head gets header_timeout from its first byte.
  void keep(std::unique_ptr<Connection> connection) {
    const bool idle = connection->pending().empty();
    add(std::move(connection), idle ? Wait::idle : Wait::head,
        idle ? settings_.keep_alive_timeout : settings_.header_timeout);
  }

  // A connection that answered early: its FIN is sent, and what the client still sends is
  // read and dropped until it closes or linger_time passed, so that closing does not reset the
  // connection and destroy the answer before the client read it.
  void linger(std::unique_ptr<Connection> connection) {
    connection->shutdown_write();
    add(std::move(connection), Wait::linger, settings_.linger_time);
  }

  // Closes every connection it holds and any it is given later. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.wake();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    arrivals_.clear();
  }

  // Connections waiting now (for tests).
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waiting_count_;
  }

 private:
  enum class Wait { head, idle, linger };

  struct Waiting {
    std::unique_ptr<Connection> connection;
    Wait wait;
    SteadyTime deadline;
    RequestHeadScanner scanner;
  };

  void add(std::unique_ptr<Connection> connection, Wait wait, std::chrono::milliseconds limit) {
    Waiting waiting{std::move(connection), wait, std::chrono::steady_clock::now() + limit,
                    RequestHeadScanner(settings_.head_limits)};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;  // closed as `waiting` goes
      arrivals_.push_back(std::move(waiting));
    }
    wake_.wake();
  }

  void run() {
    std::vector<Waiting> waiting;
    std::vector<pollfd> fds;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) break;
        for (auto& arrival : arrivals_) waiting.push_back(std::move(arrival));
        arrivals_.clear();
        waiting_count_ = waiting.size();
      }
      // A kept connection may hold a whole head already (pipelined behind a request that
      // needed the room), and a new one's deadline may have passed in the queue.
      fds.assign(1, pollfd{wake_.read_end(), POLLIN, 0});
      SteadyTime next_deadline = SteadyTime::max();
      for (const auto& w : waiting) {
        fds.push_back(pollfd{w.connection->fd(), POLLIN, 0});
        next_deadline = std::min(next_deadline, w.deadline);
      }
      const int timeout = waiting.empty() ? -1 : poll_timeout_until(next_deadline);
      if (::poll(fds.data(), fds.size(), timeout) < 0) continue;  // EINTR: look again
      wake_.drain();
      const auto now = std::chrono::steady_clock::now();
      std::size_t kept = 0;
      for (std::size_t i = 0; i < waiting.size(); ++i) {
        const bool readable = fds[i + 1].revents != 0;
        if (attend(waiting[i], readable, now)) {
          if (kept != i) waiting[kept] = std::move(waiting[i]);
          ++kept;
        }
      }
      waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(kept), waiting.end());
    }
    // Stopping: `waiting` closes every connection as it goes.
  }

  // Reads what arrived, hands over or refuses complete heads, enforces the deadline. False
  // when the connection left the room.
  bool attend(Waiting& w, bool readable, SteadyTime now) {
    if (w.wait == Wait::linger) {
      if (!readable) return now < w.deadline;
      char discard[4096];
      for (int rounds = 0; rounds < 16; ++rounds) {  // then let the others have their turn
        const auto got = ::recv(w.connection->fd(), discard, sizeof discard, MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          return false;  // the client closed too
        }
        if (got < 0) break;
      }
      return now < w.deadline;
    }
    if (readable) {
      // No more than one byte past the head budget is buffered: enough to refuse it.
      const auto held = std::min(w.connection->pending().size(), settings_.head_limits.max_head);
      const auto room = settings_.head_limits.max_head + 1 - held;
      switch (w.connection->receive(std::min<std::size_t>(room, 16 * 1024))) {
        case Connection::Received::closed:
        case Connection::Received::failed: return false;
        case Connection::Received::some:
        case Connection::Received::nothing_yet: break;
      }
      if (w.wait == Wait::idle && !w.connection->pending().empty()) {
        w.wait = Wait::head;  // the next request began: its head gets header_timeout
        w.deadline = now + settings_.header_timeout;
      }
    }
    if (!w.connection->pending().empty()) {
      const RequestHead head = w.scanner.scan(w.connection->pending());
      if (head.state == RequestHead::State::complete) {
        ready_(std::move(w.connection), head);
        return false;
      }
      if (head.state == RequestHead::State::refused) {
        return answer_and_linger(w, head.refusal, head.reason, now);
      }
    }
    if (now < w.deadline) return true;
    if (w.wait == Wait::head && !w.connection->pending().empty()) {
      return answer_and_linger(w, ErrorKind::request_timeout,
                               "request head not complete within header_timeout", now);
    }
    return false;  // idle, or nothing ever sent: closed without an answer
  }

  bool answer_and_linger(Waiting& w, ErrorKind kind, const char* reason, SteadyTime now) {
    // The answer is small and goes out at once; a client that does not take even that is not
    // waited for: the room's thread never blocks on one connection.
    w.connection->send_all(refuse_(kind, reason), now);
    w.connection->shutdown_write();
    w.wait = Wait::linger;
    w.deadline = now + settings_.linger_time;
    return true;
  }

  const Settings settings_;
  const Ready ready_;
  const Refuse refuse_;
  WakePipe wake_;
  mutable std::mutex mutex_;
  std::vector<Waiting> arrivals_;
  std::size_t waiting_count_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace allthings::webhooks::detail
