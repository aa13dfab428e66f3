#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

// One accepted TCP connection of the guarded server: its socket and the bytes received on it
// that no request has consumed yet. The bytes outlive each request, so requests pipelined in
// one write are all answered (cpp-httplib 0.11 dropped what its per-request stream had
// buffered). Used by one thread at a time: the waiting room, then a worker, then the room.
namespace allthings::webhooks::detail {

using SteadyTime = std::chrono::steady_clock::time_point;

// Milliseconds from now until `deadline` for poll(): 0 once it passed, capped at a day.
inline int poll_timeout_until(SteadyTime deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
  if (left <= 0) return 0;
  return static_cast<int>(left > 86400000 ? 86400000 : left + 1);  // +1: never wake too early
}

// "ip" and port of a socket's end, as cpp-httplib reports them.
struct SocketAddress {
  std::string ip;
  int port = 0;
};

inline SocketAddress socket_address(int fd, bool peer) {
  sockaddr_storage storage{};
  socklen_t size = sizeof storage;
  auto* address = reinterpret_cast<sockaddr*>(&storage);
  if ((peer ? ::getpeername(fd, address, &size) : ::getsockname(fd, address, &size)) != 0) {
    return {};
  }
  char text[INET6_ADDRSTRLEN] = {};
  SocketAddress out;
  if (storage.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    out.port = ntohs(v4->sin_port);
  } else if (storage.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    out.port = ntohs(v6->sin6_port);
  }
  out.ip = text;
  return out;
}

class Connection {
 public:
  explicit Connection(int fd)
      : fd_(fd), remote_(socket_address(fd, true)), local_(socket_address(fd, false)) {}
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  const SocketAddress& remote() const { return remote_; }
  const SocketAddress& local() const { return local_; }

  // Bytes received and not consumed yet.
  std::string_view pending() const { return std::string_view(buffer_).substr(consumed_); }
  void consume(std::size_t count) {
    consumed_ += count;
    if (consumed_ == buffer_.size()) {
      buffer_.clear();
      consumed_ = 0;
    }
  }
  // Forgets the consumed bytes at the front, so a new request starts at pending()'s start
  // and the buffer does not grow with every request of a long connection.
  void compact() {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }

  enum class Received { some, nothing_yet, closed, failed };

  // Appends what the socket holds right now, up to `most` bytes, without waiting.
  Received receive(std::size_t most) {
    const std::size_t old_size = buffer_.size();
    buffer_.resize(old_size + most);
    ssize_t got;
    do {
      got = ::recv(fd_, buffer_.data() + old_size, most, MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    buffer_.resize(old_size + (got > 0 ? static_cast<std::size_t>(got) : 0));
    if (got > 0) return Received::some;
    if (got == 0) return Received::closed;
    return errno == EAGAIN || errno == EWOULDBLOCK ? Received::nothing_yet : Received::failed;
  }

  // Receives into `out` directly, bypassing the buffer (a body's bulk), without waiting.
  ssize_t receive_into(char* out, std::size_t most) {
    ssize_t got;
    do {
      got = ::recv(fd_, out, most, MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    return got;
  }

  // Sends as much of `bytes` as the socket takes before `deadline`; false if not all of it.
  bool send_all(std::string_view bytes, SteadyTime deadline) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(sent));
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, poll_timeout_until(deadline)) <= 0) return false;
        continue;
      }
      return false;
    }
    return true;
  }

  // Sends our FIN while still reading: what the client sent after an early answer is then
  // discarded (see WaitingRoom), instead of a close that resets the connection and may destroy
  // the answer before the client read it.
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  std::size_t requests_served = 0;

 private:
  int fd_;
  SocketAddress remote_;
  SocketAddress local_;
  std::string buffer_;
  std::size_t consumed_ = 0;
};

}  // namespace allthings::webhooks::detail
