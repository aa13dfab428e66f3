#pragma once

#include <sys/socket.h>

#include <atomic>
#include <memory>

#include <httplib.h>

// The listening socket of a server that WebhookEndpoint builds itself.
namespace allthings::webhooks::detail {

// cpp-httplib's default socket options add SO_REUSEPORT, which lets a second process bind the
// same port and silently take half the deliveries; a taken port must be an error instead.
inline void reuse_address_only(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes), sizeof yes);
}

// Remembers the socket cpp-httplib creates to listen on, so that its backlog can be set once
// it listens. cpp-httplib fixes the backlog when it is compiled (0.11: 5, so bursts of new
// connections wait for SYN retransmissions; 0.53: 128). On Linux, listen() again on a
// listening socket sets the new backlog, which works the same on every version.
class ListeningSocket {
 public:
  // Replaces the server's socket options with reuse_address_only, noting the socket. The
  // callback runs only for the listening socket, before bind().
  void watch(httplib::Server& server) {
    server.set_socket_options([fd = fd_](socket_t sock) {
      reuse_address_only(sock);
      fd->store(sock);
    });
  }

  // After a successful bind: false when no socket was noted or the kernel refused.
  bool set_backlog(int backlog) const {
    const socket_t sock = fd_->load();
    return sock != INVALID_SOCKET && ::listen(sock, backlog) == 0;
  }

 private:
  std::shared_ptr<std::atomic<socket_t>> fd_ =
      std::make_shared<std::atomic<socket_t>>(INVALID_SOCKET);
};

}  // namespace allthings::webhooks::detail
