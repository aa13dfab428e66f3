#pragma once

// Sends hand-written bytes over a socket, for requests httplib::Client would not produce (a
// Content-Length whose body never comes, a body that grows while it is sent, requests
// pipelined in one write, a head that trickles in), and reads what comes back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <string>
#include <vector>

namespace test {

// A port nobody listens on right now (bound and released again).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t size = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  // Sends what it can; a server that closed early makes the rest fail, which is fine here.
  void send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  // Reads until the server closes the connection or the first response is complete enough to
  // hold its status line and headers.
  std::string read_response_head() {
    std::string out;
    char buffer[4096];
    while (out.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

  // Status code of the first response, or -1.
  int status() {
    const auto head = read_response_head();
    if (head.rfind("HTTP/1.1 ", 0) != 0 || head.size() < 12) return -1;
    return std::stoi(head.substr(9, 3));
  }

  // Everything the server sends until it closes the connection (closed = true) or `limit`
  // passes (closed = false).
  struct Received {
    std::string bytes;
    bool closed = false;
  };
  Received read_until_closed(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    Received out;
    const auto give_up = std::chrono::steady_clock::now() + limit;
    char buffer[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {  // FIN, or a reset after the answer
        out.closed = true;
        return out;
      }
      out.bytes.append(buffer, static_cast<std::size_t>(n));
    }
  }

  // Reads until `count` whole responses arrived, the server closed, or `limit` passed.
  std::string read_responses(std::size_t count,
                             std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::string bytes;
    const auto give_up = std::chrono::steady_clock::now() + limit;
    char buffer[4096];
    while (parse_responses(bytes).size() < count) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      bytes.append(buffer, static_cast<std::size_t>(n));
    }
    return bytes;
  }

  // Sends `bytes` unless the connection broke; false once it did.
  bool send_some(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }

  // Half-closes: the server sees the end of the request stream.
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  struct Response {
    int status = 0;
    std::string head;
    std::string body;
  };

  // The complete responses in `bytes`, in order, each framed by its Content-Length.
  static std::vector<Response> parse_responses(const std::string& bytes) {
    std::vector<Response> out;
    std::size_t at = 0;
    for (;;) {
      const auto head_end = bytes.find("\r\n\r\n", at);
      if (head_end == std::string::npos || bytes.compare(at, 9, "HTTP/1.1 ") != 0) return out;
      Response response;
      response.head = bytes.substr(at, head_end + 4 - at);
      response.status = std::stoi(bytes.substr(at + 9, 3));
      std::size_t length = 0;
      const auto field = lower(response.head).find("\r\ncontent-length:");
      if (field != std::string::npos) length = std::stoul(response.head.substr(field + 17));
      if (bytes.size() < head_end + 4 + length) return out;
      response.body = bytes.substr(head_end + 4, length);
      out.push_back(response);
      at = head_end + 4 + length;
    }
  }

 private:
  static std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  int fd_;
  bool connected_ = false;
};

}  // namespace test
