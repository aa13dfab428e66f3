#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include <httplib.h>

#include "connection.hpp"
#include "request_head.hpp"

namespace allthings::webhooks::detail {

// The stream cpp-httplib reads one request through and writes its answer to. It serves the
// connection's buffered bytes first (the head is always among them), then the socket, and it
// never lets cpp-httplib read past the end of the request the head frames: the next request's
// bytes stay on the connection, and a request without a framed body reads as empty instead of
// waiting for the client to close. A read waits at most read_timeout, never past the body's
// deadline, and gives up at once when the server stops. The member functions cover the
// Stream interfaces of cpp-httplib 0.11 to 0.53; each version overrides the ones it declares.
class RequestStream final : public httplib::Stream {
 public:
  struct Settings {
    std::chrono::milliseconds read_timeout;
    std::chrono::milliseconds write_timeout;
    int stop_fd;  // becomes readable when the server stops
  };

  // Why a read failed.
  enum class Failure { none, timed_out, closed, stopped, broken };

  RequestStream(Connection& connection, const RequestHead& head, SteadyTime body_deadline,
                const Settings& settings)
      : connection_(connection),
        settings_(settings),
        body_deadline_(body_deadline),
        started_(std::chrono::steady_clock::now()),
        end_(head.framing == BodyFraming::length ? head.size + head.content_length
             : head.framing == BodyFraming::none ? head.size
                                                 : unframed) {}

  // The stream of the request the calling thread serves, while GuardedServer runs it; null on
  // any other server (an application's, through mount()).
  static RequestStream*& current() {
    thread_local RequestStream* stream = nullptr;
    return stream;
  }

  Failure failure() const { return failure_; }

  // True when cpp-httplib read exactly this request, no less (a body left unread by an early
  // answer) and no more: the connection may then carry the next request.
  bool read_exactly_the_request() const { return end_ != unframed && consumed_ == end_; }

  // httplib::Stream
  bool is_readable() const { return !connection_.pending().empty() && consumed_ < end_; }
  bool wait_readable() const { return is_readable() || wait_for_socket(); }
  bool is_writable() const { return wait_writable(); }
  bool wait_writable() const {
    pollfd p{connection_.fd(), POLLOUT, 0};
    return ::poll(&p, 1, static_cast<int>(settings_.write_timeout.count())) > 0 &&
           (p.revents & POLLOUT) != 0;
  }

  ssize_t read(char* out, std::size_t size) {
    const std::uint64_t left = end_ - consumed_;
    if (left == 0 || size == 0) return 0;  // the request ends here
    size = static_cast<std::size_t>(std::min<std::uint64_t>({size, left, max_read}));
    while (connection_.pending().empty()) {
      if (!wait_for_socket()) return -1;
      if (size >= direct_read_bytes) {
        // A body's bulk goes straight to cpp-httplib, never past the request's end.
        const ssize_t got = connection_.receive_into(out, size);
        if (got > 0) {
          consumed_ += static_cast<std::uint64_t>(got);
          return got;
        }
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        failure_ = got == 0 ? Failure::closed : Failure::broken;
        return got;
      }
      switch (connection_.receive(buffer_bytes)) {
        case Connection::Received::some: break;
        case Connection::Received::nothing_yet: break;
        case Connection::Received::closed: failure_ = Failure::closed; return 0;
        case Connection::Received::failed: failure_ = Failure::broken; return -1;
      }
    }
    const auto pending = connection_.pending();
    const std::size_t count = std::min(size, pending.size());
    std::memcpy(out, pending.data(), count);
    connection_.consume(count);
    consumed_ += count;
    return static_cast<ssize_t>(count);
  }

  ssize_t write(const char* data, std::size_t size) {
    if (!wait_writable()) return -1;
    ssize_t sent;
    do {
      sent = ::send(connection_.fd(), data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
  }
  using httplib::Stream::write;

  void get_remote_ip_and_port(std::string& ip, int& port) const {
    ip = connection_.remote().ip;
    port = connection_.remote().port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const {
    ip = connection_.local().ip;
    port = connection_.local().port;
  }
  socket_t socket() const { return connection_.fd(); }

  // Milliseconds since the request began to be served (cpp-httplib 0.53).
  time_t duration() const {
    return static_cast<time_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - started_)
                                   .count());
  }

  // Bytes cpp-httplib 0.53 may scan in place instead of reading them one by one.
  const char* buffered_data(std::size_t& size) const {
    const auto pending = connection_.pending();
    size = static_cast<std::size_t>(std::min<std::uint64_t>(pending.size(), end_ - consumed_));
    return size > 0 ? pending.data() : nullptr;
  }
  void consume_buffered(std::size_t size) {
    connection_.consume(size);
    consumed_ += size;
  }

 private:
  static constexpr std::uint64_t unframed = std::numeric_limits<std::uint64_t>::max();
  static constexpr std::size_t direct_read_bytes = 4096;
  static constexpr std::size_t buffer_bytes = 16 * 1024;
  static constexpr std::size_t max_read = 1 << 30;

  // Waits until the socket is readable, up to read_timeout and never past the body's deadline;
  // false (and failure_ says why) otherwise.
  bool wait_for_socket() const {
    const auto now = std::chrono::steady_clock::now();
    if (now >= body_deadline_) return failed(Failure::timed_out);
    const auto deadline = std::min(body_deadline_, now + settings_.read_timeout);
    pollfd fds[2] = {{connection_.fd(), POLLIN, 0}, {settings_.stop_fd, POLLIN, 0}};
    int ready;
    do {
      ready = ::poll(fds, 2, poll_timeout_until(deadline));
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return failed(Failure::broken);
    if (fds[1].revents != 0) return failed(Failure::stopped);
    if (ready == 0) return failed(Failure::timed_out);
    return true;
  }

  bool failed(Failure why) const {
    failure_ = why;
    return false;
  }

  Connection& connection_;
  Settings settings_;
  SteadyTime body_deadline_;
  SteadyTime started_;
  const std::uint64_t end_;  // bytes from the request's start to its end, or unframed
  std::uint64_t consumed_ = 0;
  mutable Failure failure_ = Failure::none;
};

}  // namespace allthings::webhooks::detail
