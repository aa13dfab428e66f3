// A Webhooks API request whose server resets the connection while the body is still being sent
// fails (status 0, retried by the caller) and leaves the process alive, also one that never
// ignored SIGPIPE. cpp-httplib's Server ignores SIGPIPE process-wide, so the request runs in a
// process of its own (sigpipe_client.cpp) with SIGPIPE at its default action, and the server is
// a bare OpenSSL one: it reads the first TLS record and resets.
//
// What this does not show: that https_post's ScopedSigpipeBlock is needed here. The first write
// after a reset reports ECONNRESET, which raises no SIGPIPE; only a further write would, and
// with Debian's cpp-httplib 0.11.4 the client makes none (the case passes without the block).
// The block's own behaviour is tested in tests/sigpipe_block_test.cpp.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "../sigpipe.hpp"
#include "fake_webhooks_api.hpp"

namespace {

// A TCP listener on 127.0.0.1 with a port of the kernel's choosing.
struct Listener {
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int fd = -1;
  int port = 0;
};

// Accepts one TLS connection, reads what the client sent first, then closes with a reset
// (SO_LINGER 0) while the client is still sending. False when no client came within 20 s.
bool accept_read_and_reset(const Listener& listener, const test::ApiCertificate& certificate) {
  pollfd ready{listener.fd, POLLIN, 0};
  if (::poll(&ready, 1, 20000) != 1) return false;
  const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return false;
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate_file(context, certificate.cert.c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_use_PrivateKey_file(context, certificate.key.c_str(), SSL_FILETYPE_PEM);
  SSL* tls = SSL_new(context);
  SSL_set_fd(tls, fd);
  bool read_some = false;
  if (SSL_accept(tls) == 1) {
    char bytes[16384];
    read_some = SSL_read(tls, bytes, sizeof bytes) > 0;
  }
  const linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
  SSL_free(tls);
  SSL_CTX_free(context);
  return read_some;
}

}  // namespace

TEST_CASE("a Webhooks API request whose server resets mid-body fails and the process lives") {
  const test::ApiCertificate certificate;
  const Listener listener;

  std::vector<std::string> args = {ALLTHINGS_WEBHOOKS_SIGPIPE_CLIENT, std::to_string(listener.port),
                                   certificate.cert};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec. An ignored or blocked SIGPIPE would
    // survive the exec: back to the default action, unblocked, as in a program that never
    // touched it.
    test::restore_default_sigpipe();
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    ::pthread_sigmask(SIG_UNBLOCK, &sigpipe, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }

  const bool reset = accept_read_and_reset(listener, certificate);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  CHECK(reset);
  INFO("the client was killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
