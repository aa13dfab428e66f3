#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <httplib.h>

#include "../../error.hpp"
#include "../../options.hpp"
#include "../../reply.hpp"
#include "connection.hpp"
#include "connection_pool.hpp"
#include "request_head.hpp"
#include "request_stream.hpp"
#include "waiting_room.hpp"

// The cpp-httplib server that listen()/start() run: cpp-httplib parses and routes each
// request as usual, but the connections are this server's own. It replaces cpp-httplib's
// per-connection loop (a thread per connection, reading heads of any size at any pace, keeping
// a connection after an answer that left its body unread) with:
// - heads read and checked by the waiting room, without a thread, within the head budget and
//   header_timeout (414, 431, 400, 408 otherwise);
// - a thread only for a request whose head is complete, its body within body_timeout (408);
// - a connection kept for the next request only when cpp-httplib read exactly this one, so an
//   early answer (413, 415, 405...) always closes it and a body is never read as a request;
// - requests pipelined in one write all answered, in order.
namespace allthings::webhooks::detail {

struct GuardSettings {
  std::size_t threads;
  HeadLimits head_limits;
  std::chrono::milliseconds header_timeout;
  std::chrono::milliseconds body_timeout;
  std::chrono::milliseconds read_timeout;
  std::chrono::milliseconds write_timeout;
  std::chrono::milliseconds keep_alive_timeout;
  std::size_t keep_alive_max_count;
};

inline GuardSettings guard_settings(const Options& o) {
  return GuardSettings{o.http_threads,
                       HeadLimits{o.max_request_line_bytes, o.max_header_bytes, o.max_header_count},
                       o.header_timeout,
                       o.body_timeout,
                       o.read_timeout,
                       o.write_timeout,
                       o.keep_alive_timeout,
                       o.keep_alive_max_count};
}

inline const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// A reply written by this server itself, before cpp-httplib saw the request; it always closes
// the connection.
inline std::string raw_http_response(const Reply& reply) {
  std::string out =
      "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply.status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(reply.body.size()) +
      "\r\n";
  for (const auto& [name, value] : reply.closing().headers()) {
    out += name + ": " + value + "\r\n";
  }
  out += "\r\n";
  out += reply.body;
  return out;
}

class GuardedServer final : public httplib::Server {
 public:
  // The reply to a request refused before cpp-httplib saw it (and its report).
  using Refuse = std::function<Reply(ErrorKind, const char*)>;

  GuardedServer(GuardSettings settings, Refuse refuse)
      : settings_(settings), refuse_(std::move(refuse)) {
    // Called by the accept loop when it starts; it shuts the pool down when it ends.
    new_task_queue = [this]() -> httplib::TaskQueue* {
      auto* pool = new ConnectionPool(
          settings_.threads,
          WaitingRoom::Settings{settings_.head_limits, settings_.header_timeout,
                                settings_.keep_alive_timeout, linger_time},
          [this](std::unique_ptr<Connection> connection, RequestHead head) {
            serve(std::move(connection), head);
          },
          [this](ErrorKind kind, const char* reason) {
            return raw_http_response(refuse_(kind, reason));
          });
      pool_ = pool;
      return pool;
    };
  }

 private:
  // How long an early answer's connection keeps reading (and dropping) what the client sends.
  static constexpr std::chrono::milliseconds linger_time{2000};
  // How long a worker waits for a kept connection's next request before the room takes it.
  // While requests wait for a worker the wait is shorter, but not too short: at 1 ms, with 64
  // busy connections on 32 threads, a loaded client often missed it, and the round trips
  // through the room cost a third of the throughput (docs/performance.md, eighth session).
  static constexpr std::chrono::milliseconds next_request_grace{10};
  static constexpr std::chrono::milliseconds next_request_grace_busy{3};
  // What a worker reads from a connection at once when looking for a head.
  static constexpr std::size_t first_read_bytes = 16 * 1024;

  // cpp-httplib's accept loop hands each connection here, on a pool worker. A client usually
  // sends its request right after connecting: when its head is already here it is served at
  // once, otherwise the connection waits in the room.
  bool process_and_close_socket(socket_t sock) override {
    auto connection = std::make_unique<Connection>(sock);
    connection->receive(first_read_bytes);
    const RequestHead head = RequestHeadScanner(settings_.head_limits).scan(connection->pending());
    if (head.state == RequestHead::State::complete) {
      serve(std::move(connection), head);
    } else if (head.state == RequestHead::State::refused) {
      refuse_and_close(std::move(connection), head);
    } else {
      pool_.load()->adopt(std::move(connection));
    }
    return true;
  }

  // Serves the request whose head is complete, and those pipelined behind it, then hands the
  // connection back to the room (idle or half a head received) or closes it.
  void serve(std::unique_ptr<Connection> connection, RequestHead head) {
    ConnectionPool& pool = *pool_.load();
    for (;;) {
      const bool last =
          ++connection->requests_served >= settings_.keep_alive_max_count || pool.stopping();
      RequestStream stream(*connection, head,
                           std::chrono::steady_clock::now() + settings_.body_timeout,
                           {settings_.read_timeout, settings_.write_timeout, pool.stop_fd()});
      bool closed = false;
      bool answered = false;
      {
        const CurrentStream current(stream);
        answered = process(*this, stream, *connection, last, closed, 0);
      }
      if (!answered || closed || last || !stream.read_exactly_the_request()) {
        return pool.close(std::move(connection));
      }
      connection->compact();
      head = next_head(*connection, pool);
      switch (head.state) {
        case RequestHead::State::complete: continue;  // served on this thread too
        case RequestHead::State::incomplete: return pool.keep(std::move(connection));
        case RequestHead::State::refused: return refuse_and_close(std::move(connection), head);
      }
    }
  }

  // The head of the connection's next request, if it is here already (pipelined) or arrives
  // within a moment: a client that sends its next request as soon as it has the answer is
  // served without a round trip through the room (two thread switches and its epoll calls).
  // The moment is shorter while other requests wait for a worker: waiting costs them latency.
  RequestHead next_head(Connection& connection, ConnectionPool& pool) const {
    RequestHeadScanner scanner(settings_.head_limits);
    RequestHead head = scanner.scan(connection.pending());
    if (head.state != RequestHead::State::incomplete) return head;
    const auto grace = pool.has_idle_worker() ? next_request_grace : next_request_grace_busy;
    pollfd fds[2] = {{connection.fd(), POLLIN, 0}, {pool.stop_fd(), POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(grace.count())) != 1 || fds[0].revents == 0 ||
        connection.receive(first_read_bytes) != Connection::Received::some) {
      return head;
    }
    return scanner.scan(connection.pending());
  }

  void refuse_and_close(std::unique_ptr<Connection> connection, const RequestHead& head) {
    connection->send_all(raw_http_response(refuse_(head.refusal, head.reason)),
                         std::chrono::steady_clock::now() + settings_.write_timeout);
    pool_.load()->close(std::move(connection));
  }

  // Makes `stream` RequestStream::current() while cpp-httplib runs the request.
  class CurrentStream {
   public:
    explicit CurrentStream(RequestStream& stream) { RequestStream::current() = &stream; }
    ~CurrentStream() { RequestStream::current() = nullptr; }
    CurrentStream(const CurrentStream&) = delete;
    CurrentStream& operator=(const CurrentStream&) = delete;
  };

  // cpp-httplib's protected Server::process_request reads, routes and answers one request. Its
  // signature changed: newer versions take the peer's and our address.
  template <class Self>
  static auto process(Self& self, httplib::Stream& stream, const Connection& connection,
                      bool close_connection, bool& connection_closed, int)
      -> decltype(self.process_request(stream, std::string(), 0, std::string(), 0, false,
                                       connection_closed, nullptr)) {
    return self.process_request(stream, connection.remote().ip, connection.remote().port,
                                connection.local().ip, connection.local().port, close_connection,
                                connection_closed, nullptr);
  }
  template <class Self>
  static auto process(Self& self, httplib::Stream& stream, const Connection&, bool close_connection,
                      bool& connection_closed, long)
      -> decltype(self.process_request(stream, false, connection_closed, nullptr)) {
    return self.process_request(stream, close_connection, connection_closed, nullptr);
  }

  const GuardSettings settings_;
  const Refuse refuse_;
  std::atomic<ConnectionPool*> pool_{nullptr};
};

}  // namespace allthings::webhooks::detail
