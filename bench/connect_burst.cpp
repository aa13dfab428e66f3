// allthings_webhooks_connect_burst: what the listen backlog does to a burst of new connections.
//
// N clients connect to a started WebhookEndpoint at the same moment; each sends GET /livez and
// waits for the answer. When the accept queue (the listen backlog) is full, Linux drops the
// incoming SYN and the client retransmits it after 1 s (then 3 s, ...), so the share of
// answers slower than 1 s shows how often a burst hit a full queue. Rounds alternate between
// the backlogs compared; every round is printed, then the median per backlog.
//
//   allthings_webhooks_connect_burst [--connections 100,200] [--rounds 5] [--backlogs 5,128]
#include <allthings/webhooks.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aw = allthings::webhooks;
using Clock = std::chrono::steady_clock;

namespace {

struct BurstResult {
  std::vector<double> answered_ms;  // per connection that got an answer
  int failed = 0;                   // refused, reset or unanswered within the time limit
};

struct Connection {
  int fd = -1;
  bool sent = false;
  std::string received;
};

// Connects `count` sockets to 127.0.0.1:port at once and times each until its answer arrives.
BurstResult burst(int port, int count) {
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Connection> connections(static_cast<std::size_t>(count));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string request = "GET /livez HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";

  BurstResult result;
  const auto started = Clock::now();
  for (int i = 0; i < count; ++i) {
    auto& c = connections[static_cast<std::size_t>(i)];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int rc = ::connect(c.fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    if (rc != 0 && errno != EINPROGRESS) {
      ++result.failed;
      ::close(c.fd);
      c.fd = -1;
      continue;
    }
    epoll_event event{};
    event.events = EPOLLOUT | EPOLLIN;
    event.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &event);
  }

  int open = count - result.failed;
  const auto give_up = started + std::chrono::seconds(20);
  std::vector<epoll_event> events(static_cast<std::size_t>(count));
  while (open > 0 && Clock::now() < give_up) {
    const int ready = ::epoll_wait(epoll, events.data(), count, 100);
    for (int e = 0; e < ready; ++e) {
      auto& c = connections[events[static_cast<std::size_t>(e)].data.u32];
      if (c.fd < 0) continue;
      bool finished = false;
      bool ok = false;
      if (!c.sent && (events[static_cast<std::size_t>(e)].events & EPOLLOUT)) {
        int error = 0;
        socklen_t size = sizeof error;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error != 0 || ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                              static_cast<ssize_t>(request.size())) {
          finished = true;
        } else {
          c.sent = true;
          epoll_event event{};
          event.events = EPOLLIN;
          event.data.u32 = events[static_cast<std::size_t>(e)].data.u32;
          ::epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd, &event);
        }
      } else if (c.sent) {
        char buffer[4096];
        const auto n = ::recv(c.fd, buffer, sizeof buffer, 0);
        if (n > 0) c.received.append(buffer, static_cast<std::size_t>(n));
        ok = c.received.find("\r\n\r\n") != std::string::npos;
        finished = ok || n == 0 || (n < 0 && errno != EAGAIN);
      }
      if (finished) {
        if (ok && c.received.rfind("HTTP/1.1 200", 0) == 0) {
          result.answered_ms.push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - started).count());
        } else {
          ++result.failed;
        }
        ::close(c.fd);
        c.fd = -1;
        --open;
      }
    }
  }
  for (auto& c : connections) {
    if (c.fd >= 0) {
      ::close(c.fd);
      ++result.failed;
    }
  }
  ::close(epoll);
  return result;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

int slower_than(const std::vector<double>& values, double ms) {
  return static_cast<int>(
      std::count_if(values.begin(), values.end(), [ms](double v) { return v > ms; }));
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> bursts = {100, 200};
  int rounds = 5;
  std::vector<int> backlogs = {5, 128};
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag == "--help") {
        std::cout << "usage: allthings_webhooks_connect_burst [--connections 100,200] "
                     "[--rounds 5] [--backlogs 5,128]\n";
        return 0;
      }
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      const std::string value = argv[++i];
      if (flag == "--connections") {
        bursts = parse_list(value);
      } else if (flag == "--rounds") {
        rounds = std::stoi(value);
      } else if (flag == "--backlogs") {
        backlogs = parse_list(value);
      } else {
        throw std::invalid_argument("unknown option " + flag);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "allthings_webhooks_connect_burst: " << e.what() << '\n';
    return 2;
  }

  std::printf("N simultaneous connections, each GET /livez; %d rounds per point, alternating\n",
              rounds);
  std::printf("%6s %8s %6s %9s %9s %9s %9s %10s %7s\n", "N", "backlog", "round", "p50 ms", "p90 ms",
              "p99 ms", "max ms", "over 1 s", "failed");
  std::map<std::pair<int, int>, std::vector<double>> slow_counts, p99s, failures;
  for (int round = 1; round <= rounds; ++round) {
    for (const int connections : bursts) {
      for (const int backlog : backlogs) {
        aw::Options options;
        options.secrets = {"bench"};
        options.listen_backlog = backlog;
        aw::WebhookEndpoint endpoint(options);  // a fresh server per round
        const int port = endpoint.start("127.0.0.1", 0);
        const auto result = burst(port, connections);
        endpoint.stop();
        const int slow = slower_than(result.answered_ms, 1000);
        const auto key = std::make_pair(connections, backlog);
        slow_counts[key].push_back(slow);
        p99s[key].push_back(percentile(result.answered_ms, 0.99));
        failures[key].push_back(result.failed);
        std::printf("%6d %8d %6d %9.1f %9.1f %9.1f %9.1f %10d %7d\n", connections, backlog, round,
                    percentile(result.answered_ms, 0.5), percentile(result.answered_ms, 0.9),
                    percentile(result.answered_ms, 0.99), percentile(result.answered_ms, 1.0), slow,
                    result.failed);
        std::fflush(stdout);
      }
    }
  }
  std::printf("median of the rounds (failed: no answer within 20 s):\n");
  for (const int connections : bursts) {
    for (const int backlog : backlogs) {
      const auto key = std::make_pair(connections, backlog);
      std::printf("  %4d connections, backlog %4d: %4.0f answered after more than 1 s, %4.0f "
                  "failed, p99 %.1f ms\n",
                  connections, backlog, percentile(slow_counts[key], 0.5),
                  percentile(failures[key], 0.5), percentile(p99s[key], 0.5));
    }
  }
  return 0;
}
