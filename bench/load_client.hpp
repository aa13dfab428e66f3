#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "deliveries.hpp"

// A closed-loop keep-alive HTTP/1.1 load generator: each connection sends one pre-built request,
// waits for the whole response, records the latency and sends the next one. A few threads drive
// all connections through epoll, so the client stays cheap next to the server it measures on a
// small machine.
namespace bench {

using SteadyClock = std::chrono::steady_clock;

struct LoadSettings {
  // The servers on 127.0.0.1: connection i goes to ports[i % ports.size()].
  std::vector<int> ports;
  std::size_t connections = 1;
  std::size_t threads = 1;
  std::chrono::duration<double> warmup{0.5};
  std::chrono::duration<double> measured{2.5};
  // After the measured window: how long in-flight requests may take to be answered.
  std::chrono::duration<double> drain{15.0};
};

struct LoadResult {
  std::uint64_t sent = 0;            // requests written (each carries a distinct pool index)
  std::uint64_t answered_2xx = 0;    // complete responses with a 2xx status
  std::uint64_t answered_other = 0;  // complete responses with any other status
  std::map<int, std::uint64_t> other_statuses;  // answered_other by HTTP status
  std::vector<std::size_t> not_2xx;  // pool indices answered otherwise, or not at all
  std::uint64_t failed = 0;          // connection errors or no answer before the drain ended
  std::uint64_t connect_failures = 0;
  std::uint64_t reconnects = 0;      // connections the server closed (keep-alive limit)
  bool pool_exhausted = false;       // the pool ran out before the measured window ended
  double measured_seconds = 0;
  // 2xx responses completed inside the measured window, sorted; refusals such as a 503 are
  // cheap and would flatter both throughput and latency.
  std::vector<std::uint64_t> latencies_ns;

  double requests_per_second() const {
    return measured_seconds > 0 ? static_cast<double>(latencies_ns.size()) / measured_seconds
                                : 0;
  }

  // The p-th percentile (0..100) of latencies_ns, nearest rank.
  double latency_ms(double p) const {
    if (latencies_ns.empty()) return 0;
    const auto n = latencies_ns.size();
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
    return static_cast<double>(latencies_ns[std::clamp<std::size_t>(rank, 1, n) - 1]) / 1e6;
  }
};

namespace detail {

// The parts of an HTTP/1.1 response this client needs.
struct ResponseHead {
  int status = 0;
  std::size_t head_size = 0;  // through the blank line
  std::size_t content_length = 0;
  bool close = false;
};

inline bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The head of the response at the start of `in`, once all of it has arrived.
inline std::optional<ResponseHead> parse_head(std::string_view in) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  ResponseHead head;
  head.head_size = end + 4;
  std::string_view lines = in.substr(0, end);
  // "HTTP/1.1 200 OK"
  if (lines.size() >= 12) {
    head.status = (lines[9] - '0') * 100 + (lines[10] - '0') * 10 + (lines[11] - '0');
  }
  while (!lines.empty()) {
    const auto eol = std::min(lines.find("\r\n"), lines.size());
    const auto line = lines.substr(0, eol);
    lines.remove_prefix(std::min(eol + 2, lines.size()));
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (equals_ignoring_case(name, "content-length")) {
      head.content_length = std::stoul(std::string(value));
    } else if (equals_ignoring_case(name, "connection")) {
      head.close = equals_ignoring_case(value, "close");
    }
  }
  return head;
}

// Everything the client threads share.
struct SharedRun {
  const RequestPool* pool = nullptr;
  LoadSettings settings;
  SteadyClock::time_point window_start, window_end, drain_end;
  std::atomic<std::size_t> next_index{0};
  std::atomic<bool> exhausted{false};
};

class Connection {
 public:
  Connection(SharedRun& run, int epoll_fd, int port)
      : run_(run), epoll_fd_(epoll_fd), port_(port) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { close_socket(); }

  bool busy() const { return busy_; }
  bool open() const { return fd_ >= 0; }

  // Connects (blocking: on loopback the handshake completes at once, unless the server's
  // listen backlog is full) and registers with epoll.
  bool connect_to_server() { return adopt(open_connection(port_)); }

  // Takes over a connected socket.
  bool adopt(int fd) {
    fd_ = fd;
    if (fd_ < 0) return false;
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = this;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &event);
    return true;
  }

  static int open_connection(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return -1;
    }
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    return fd;
  }

  // Sends the next pool request unless the run stopped sending; false when nothing was sent.
  bool send_next(LoadResult& result) {
    const auto now = SteadyClock::now();
    if (now >= run_.window_end) {
      close_socket();  // frees the server thread holding this connection
      return false;
    }
    const std::size_t index = run_.next_index.fetch_add(1, std::memory_order_relaxed);
    if (index >= run_.pool->size()) {
      run_.exhausted = true;
      close_socket();
      return false;
    }
    index_ = index;
    request_ = run_.pool->request(index);
    written_ = 0;
    busy_ = true;
    sent_at_ = now;
    ++result.sent;
    write_more(result);
    return true;
  }

  // Called by the epoll loop for readiness on this connection's socket.
  void on_ready(std::uint32_t events, LoadResult& result) {
    if (events & EPOLLOUT) write_more(result);
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_more(result);
  }

  // Gives up on an unanswered request when the drain time is over.
  void abandon(LoadResult& result) {
    if (busy_) {
      ++result.failed;
      result.not_2xx.push_back(index_);
    }
    busy_ = false;
    close_socket();
  }

 private:
  void write_more(LoadResult& result) {
    while (written_ < request_.size()) {
      const auto n = ::send(fd_, request_.data() + written_, request_.size() - written_,
                            MSG_NOSIGNAL);
      if (n > 0) {
        written_ += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        watch(EPOLLIN | EPOLLOUT);
        return;
      } else {
        return fail(result);
      }
    }
    watch(EPOLLIN);
  }

  void read_more(LoadResult& result) {
    char buffer[16 * 1024];
    bool closed = false;
    for (;;) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        in_.append(buffer, static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else {
        closed = true;  // by the server (or an error); the answer may have come just before
        break;
      }
    }
    if (busy_) {
      const auto head = parse_head(in_);
      if (head && in_.size() >= head->head_size + head->content_length) {
        return complete(*head, result, closed);
      }
      if (closed) return fail(result);
      return;
    }
    if (closed) {  // between requests: the keep-alive connection ended
      close_socket();
      reconnect_and_send(result);
    }
  }

  void complete(const ResponseHead& head, LoadResult& result, bool closed) {
    const auto done = SteadyClock::now();
    busy_ = false;
    in_.erase(0, head.head_size + head.content_length);
    const bool ok = head.status >= 200 && head.status < 300;
    if (ok) {
      ++result.answered_2xx;
    } else {
      ++result.answered_other;
      ++result.other_statuses[head.status];
      result.not_2xx.push_back(index_);
    }
    if (ok && done >= run_.window_start && done < run_.window_end) {
      result.latencies_ns.push_back(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent_at_).count()));
    }
    if (head.close || closed) {
      close_socket();
      reconnect_and_send(result);
    } else {
      send_next(result);
    }
  }

  void reconnect_and_send(LoadResult& result) {
    if (SteadyClock::now() >= run_.window_end || run_.exhausted) return;
    ++result.reconnects;
    if (connect_to_server()) {
      send_next(result);
    } else {
      ++result.connect_failures;
    }
  }

  void fail(LoadResult& result) {
    ++result.failed;
    result.not_2xx.push_back(index_);
    busy_ = false;
    close_socket();
    reconnect_and_send(result);
  }

  void watch(std::uint32_t events) {
    if (events == watched_) return;
    epoll_event event{};
    event.events = events;
    event.data.ptr = this;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &event);
    watched_ = events;
  }

  void close_socket() {
    if (fd_ < 0) return;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    ::close(fd_);
    fd_ = -1;
    watched_ = EPOLLIN;
    in_.clear();
  }

  SharedRun& run_;
  int epoll_fd_;
  int port_;
  int fd_ = -1;
  std::uint32_t watched_ = EPOLLIN;
  bool busy_ = false;
  std::size_t index_ = 0;
  std::string_view request_;
  std::size_t written_ = 0;
  SteadyClock::time_point sent_at_;
  std::string in_;
};

// One client thread: drives its share of the connections until the window ends and every
// request it sent has been answered (or the drain time is over).
// `sockets`: connected sockets and the port of each.
inline LoadResult drive(SharedRun& run, const std::vector<std::pair<int, int>>& sockets) {
  LoadResult result;
  result.latencies_ns.reserve(1 << 18);
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<Connection>> connections;
  for (const auto& [fd, port] : sockets) {
    connections.push_back(std::make_unique<Connection>(run, epoll_fd, port));
    connections.back()->adopt(fd);
  }
  for (auto& c : connections) c->send_next(result);

  std::vector<epoll_event> events(sockets.size() + 1);
  for (;;) {
    const bool any_busy = std::any_of(connections.begin(), connections.end(),
                                      [](const auto& c) { return c->busy(); });
    if (!any_busy && (SteadyClock::now() >= run.window_end || run.exhausted)) break;
    if (SteadyClock::now() >= run.drain_end) {
      for (auto& c : connections) c->abandon(result);
      break;
    }
    const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 10);
    for (int i = 0; i < n; ++i) {
      static_cast<Connection*>(events[i].data.ptr)->on_ready(events[i].events, result);
    }
  }
  connections.clear();
  ::close(epoll_fd);
  return result;
}

}  // namespace detail

// Runs closed-loop load against 127.0.0.1:settings.ports with requests from `pool`, each sent
// at most once. The pool must hold more requests than the run can send; otherwise the result
// says pool_exhausted.
inline LoadResult run_load(const RequestPool& pool, const LoadSettings& settings) {
  detail::SharedRun run;
  run.pool = &pool;
  run.settings = settings;

  // Every connection is open before the clock starts, and they open one by one: cpp-httplib
  // 0.11 listens with a backlog of 5. In a burst of connects the kernel drops the handshakes
  // that overflow it while the client already counts them as connected; the server accepts
  // them only after SYN-ACK retransmissions (1 s, 2 s, ...), and may close them unanswered
  // when the request's own retransmission comes later than keep_alive_timeout.
  LoadResult total;
  const std::size_t threads =
      std::max<std::size_t>(1, std::min(settings.threads, settings.connections));
  std::vector<std::vector<std::pair<int, int>>> sockets(threads);
  for (std::size_t i = 0; i < settings.connections; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const int port = settings.ports[i % settings.ports.size()];
    const int fd = detail::Connection::open_connection(port);
    if (fd < 0) {
      ++total.connect_failures;
    } else {
      sockets[i % threads].emplace_back(fd, port);
    }
  }

  const auto start = SteadyClock::now();
  run.window_start = start + std::chrono::duration_cast<SteadyClock::duration>(settings.warmup);
  run.window_end =
      run.window_start + std::chrono::duration_cast<SteadyClock::duration>(settings.measured);
  run.drain_end =
      run.window_end + std::chrono::duration_cast<SteadyClock::duration>(settings.drain);

  std::vector<LoadResult> parts(threads);
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back(
        [&run, &parts, &sockets, t] { parts[t] = detail::drive(run, sockets[t]); });
  }
  for (auto& w : workers) w.join();

  for (auto& part : parts) {
    total.sent += part.sent;
    total.answered_2xx += part.answered_2xx;
    total.answered_other += part.answered_other;
    for (const auto& [status, count] : part.other_statuses) total.other_statuses[status] += count;
    total.not_2xx.insert(total.not_2xx.end(), part.not_2xx.begin(), part.not_2xx.end());
    total.failed += part.failed;
    total.connect_failures += part.connect_failures;
    total.reconnects += part.reconnects;
    total.latencies_ns.insert(total.latencies_ns.end(), part.latencies_ns.begin(),
                              part.latencies_ns.end());
  }
  std::sort(total.latencies_ns.begin(), total.latencies_ns.end());
  total.pool_exhausted = run.exhausted;
  total.measured_seconds = settings.measured.count();
  return total;
}

}  // namespace bench
