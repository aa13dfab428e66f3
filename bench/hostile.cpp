// allthings_webhooks_hostile_bench: what hostile clients cost, measured and printed, for
// WebhookEndpoint and, as the reference, a plain cpp-httplib server with the same settings
// (cpp-httplib's own connection handling, as WebhookEndpoint used before it had its own).
// Each server runs alone in a child process (see server_process.hpp). Run with --help.
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "deliveries.hpp"
#include "served.hpp"
#include "server_process.hpp"

namespace {

namespace aw = allthings::webhooks;
using Clock = std::chrono::steady_clock;

constexpr const char* usage = R"(allthings_webhooks_hostile_bench: what hostile clients cost

For each server (plain: a cpp-httplib server with WebhookEndpoint's settings and a trivial
route, as the reference; endpoint: WebhookEndpoint with default Options), in its own process:
  slow    N connections each send a request head one byte per second (reconnecting when the
          server closes them), while signed deliveries are sent one after another (a pause
          between two), each on a new connection; prints how many were answered 200 and their
          latency
  rss     the server's resident memory (now and peak) after each of: 200 MiB without a line
          end on one connection; 20,000 header lines of 8 KB on one connection; N connections
          each holding an unfinished head of 30 KiB

Usage: allthings_webhooks_hostile_bench [options]
  --servers LIST      plain,endpoint (default both)
  --slow N            slow connections (default 200)
  --deliveries N      signed deliveries in the slow case (default 100)
  --interval MS       pause between two deliveries in the slow case (default 100)
  --seconds S         longest the slow case runs per server (default 30)
  --skip-slow, --skip-rss
)";

struct Flags {
  std::vector<bench::Variant> servers{bench::Variant::ceiling, bench::Variant::memory};
  std::size_t slow = 200;
  std::size_t deliveries = 100;
  double seconds = 30;
  std::size_t interval_ms = 100;
  bool slow_case = true;
  bool rss_case = true;
};

const char* label(bench::Variant v) { return v == bench::Variant::ceiling ? "plain" : "endpoint"; }

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends until everything is sent or the server stops taking it; returns the bytes sent.
std::size_t send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

// N connections that each send one more byte of an endless head every second, reconnecting
// when the server closes one: what a slowloris client does.
class SlowHeads {
 public:
  SlowHeads(int port, std::size_t count) : port_(port), fds_(count, -1) {
    for (auto& fd : fds_) fd = open_one();
    thread_ = std::thread([this] { run(); });
  }
  ~SlowHeads() {
    stop_ = true;
    thread_.join();
    for (const int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  std::size_t reconnects() const { return reconnects_; }

 private:
  int open_one() {
    const int fd = connect_to(port_);
    if (fd >= 0) send_all(fd, "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    return fd;
  }
  void run() {
    while (!stop_) {
      for (auto& fd : fds_) {
        char discard[512];
        const bool closed = fd < 0 || ::recv(fd, discard, sizeof discard, MSG_DONTWAIT) == 0 ||
                            ::send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1;
        if (closed) {
          if (fd >= 0) {
            ::close(fd);
            ++reconnects_;
          }
          fd = open_one();
        }
      }
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  int port_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> reconnects_{0};
  std::thread thread_;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * values.size()))];
}

void slow_case(bench::Variant variant, const Flags& flags) {
  bench::ServerProcess server({"--serve", bench::name_of(variant)});
  const int port = std::stoi(server.await("ready", std::chrono::seconds(30)).at("port"));
  SlowHeads slow(port, flags.slow);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // every slow head has begun

  std::vector<double> latencies_ms;
  std::size_t sent = 0;
  const auto give_up = Clock::now() + std::chrono::duration<double>(flags.seconds);
  while (sent < flags.deliveries && Clock::now() < give_up) {
    const auto body = bench::ticket_created_body(sent);
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    const auto begin = Clock::now();
    const auto res = client.Post("/webhooks/allthings",
                                 aw::testing::signed_headers(body, bench::bench_secret), body,
                                 "application/json");
    const auto took = Clock::now() - begin;
    ++sent;
    if (res && res->status == 200) {
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(took).count());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(flags.interval_ms));
  }
  const auto within_1s = std::count_if(latencies_ms.begin(), latencies_ms.end(),
                                       [](double ms) { return ms <= 1000; });
  std::printf("slow  %-8s cpp-httplib %-7s %zu slow heads (%zu reconnects): %zu of %zu deliveries "
              "answered 200, %ld within 1 s; p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              label(variant), CPPHTTPLIB_VERSION, flags.slow, slow.reconnects(),
              latencies_ms.size(), sent, static_cast<long>(within_1s),
              percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99),
              latencies_ms.empty() ? 0.0 : *std::max_element(latencies_ms.begin(), latencies_ms.end()));
  std::fflush(stdout);
}

// The server's resident memory now and at its peak, in MB.
std::string memory_of(bench::ServerProcess& server) {
  server.send_line("report 0");
  const auto fields = server.await("report", std::chrono::seconds(60));
  char text[96];
  std::snprintf(text, sizeof text, "RSS %.1f MB, peak %.1f MB", std::stod(fields.at("rss_kb")) / 1024,
                std::stod(fields.at("hwm_kb")) / 1024);
  return text;
}

void rss_case(bench::Variant variant, const Flags& flags) {
  struct Input {
    const char* name;
    std::function<void(int port)> send;
  };
  const std::vector<Input> inputs = {
      {"200 MiB without a line end", [](int port) {
         const int fd = connect_to(port);
         const std::string chunk(1 << 20, 'a');
         send_all(fd, "POST /");
         for (int i = 0; i < 200 && send_all(fd, chunk) == chunk.size(); ++i) {
         }
         ::close(fd);
       }},
      {"20,000 header lines of 8 KB", [](int port) {
         const int fd = connect_to(port);
         send_all(fd, "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\n");
         const std::string line = "X-Pad: " + std::string(8 * 1024 - 9, 'p') + "\r\n";
         for (int i = 0; i < 20000 && send_all(fd, line) == line.size(); ++i) {
         }
         send_all(fd, "\r\n");
         char discard[4096];
         ::recv(fd, discard, sizeof discard, 0);  // its answer, if any
         ::close(fd);
       }},
      {"unfinished 30 KiB heads on every slow connection", [&flags](int port) {
         std::vector<int> fds;
         const std::string head = "POST /webhooks/allthings HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                                  std::string(30 * 1024, 'p');
         for (std::size_t i = 0; i < flags.slow; ++i) {
           fds.push_back(connect_to(port));
           send_all(fds.back(), head);
         }
         std::this_thread::sleep_for(std::chrono::seconds(1));  // let the server read them all
         for (const int fd : fds) ::close(fd);
       }}};
  for (const auto& input : inputs) {
    bench::ServerProcess server({"--serve", bench::name_of(variant)});
    const auto ready = server.await("ready", std::chrono::seconds(30));
    const int port = std::stoi(ready.at("port"));
    const auto before = memory_of(server);
    input.send(port);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // what it still holds after
    std::printf("rss   %-8s cpp-httplib %-7s %-48s idle: %s; after: %s\n", label(variant),
                CPPHTTPLIB_VERSION, input.name, before.c_str(), memory_of(server).c_str());
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && args[0] == "--serve") {
    const auto variant = bench::variant_named(args[1]);
    if (!variant) return 2;
    return bench::serve(*variant, 10000, bench::ServeTarget{});
  }
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto value = [&] { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (args[i] == "--servers") {
      flags.servers.clear();
      std::string list = value();
      for (std::size_t at = 0; at <= list.size();) {
        const auto comma = std::min(list.find(',', at), list.size());
        const auto name = list.substr(at, comma - at);
        flags.servers.push_back(name == "plain" ? bench::Variant::ceiling : bench::Variant::memory);
        at = comma + 1;
      }
    } else if (args[i] == "--slow") {
      flags.slow = std::stoul(value());
    } else if (args[i] == "--deliveries") {
      flags.deliveries = std::stoul(value());
    } else if (args[i] == "--interval") {
      flags.interval_ms = std::stoul(value());
    } else if (args[i] == "--seconds") {
      flags.seconds = std::stod(value());
    } else if (args[i] == "--skip-slow") {
      flags.slow_case = false;
    } else if (args[i] == "--skip-rss") {
      flags.rss_case = false;
    } else {
      std::cout << usage;
      return args[i] == "--help" ? 0 : 2;
    }
  }
  for (const auto variant : flags.servers) {
    if (flags.slow_case) slow_case(variant, flags);
    if (flags.rss_case) rss_case(variant, flags);
  }
  return 0;
}
