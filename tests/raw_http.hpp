#pragma once

// Sends hand-written bytes over a socket, for requests httplib::Client would not produce (a
// Content-Length whose body never comes, a body that grows while it is sent).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

namespace test {

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

 private:
  int fd_;
  bool connected_ = false;
};

}  // namespace test
