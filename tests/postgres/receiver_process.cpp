// One replica for the multi-process tests: a WebhookEndpoint with a PostgresInbox on
// 127.0.0.1, which the tests start, kill, freeze and restart. Its handler appends a line to
// LOG when it starts an event, with a system-wide monotonic time so that the lines of several
// processes can be put in order:
//   start <monotonic ns> <event id> <attempt> <replica>
// then sleeps (the event's data.sleep_ms, else --handler-ms) and throws while the attempt is
// below data.fail_below_attempt.
//
// Usage: receiver_process CONNINFO SCHEMA REPLICA LOG [--lease-ms N] [--heartbeat-ms N]
//          [--workers N] [--handler-ms N] [--max-attempts N] [--retry-ms N]
//          [--unwritten-completions N]
// Prints "port <n>" once it accepts connections; on SIGTERM it stops gracefully and prints
// "stats claims=<n> outcomes=<n> fenced=<n> leases_lost=<n>".
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/inbox/postgres.hpp>

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace aw = allthings::webhooks;

namespace {

long long monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

// One write() per line: lines of concurrent handlers never interleave, and each is in the
// kernel's hands (it survives SIGKILL) before the handler goes on.
void append_line(int fd, const std::string& line) {
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error("cannot write the log");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: receiver_process CONNINFO SCHEMA REPLICA LOG [--flag N]...\n";
    return 2;
  }
  std::map<std::string, long> flags{{"--lease-ms", 3000},  {"--heartbeat-ms", 500},
                                    {"--workers", 4},      {"--handler-ms", 0},
                                    {"--max-attempts", 5}, {"--retry-ms", 20},
                                    {"--unwritten-completions", 8}};
  for (int i = 5; i + 1 < argc; i += 2) {
    if (flags.count(argv[i]) == 0) {
      std::cerr << "receiver_process: unknown flag " << argv[i] << '\n';
      return 2;
    }
    flags[argv[i]] = std::stol(argv[i + 1]);
  }
  // Blocked before any thread starts, so only sigwait below ever sees SIGTERM.
  sigset_t terminate;
  sigemptyset(&terminate);
  sigaddset(&terminate, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &terminate, nullptr);

  const std::string replica = argv[3];
  const int log = ::open(argv[4], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    std::cerr << "receiver_process: cannot open " << argv[4] << '\n';
    return 2;
  }

  aw::PostgresInboxSettings settings;
  settings.schema = argv[2];
  settings.replica_name = replica;
  settings.lease = std::chrono::milliseconds(flags["--lease-ms"]);
  settings.heartbeat_interval = std::chrono::milliseconds(flags["--heartbeat-ms"]);
  settings.unwritten_completions = static_cast<std::size_t>(flags["--unwritten-completions"]);
  settings.poll_interval = std::chrono::milliseconds(200);
  settings.statement_timeout = std::chrono::seconds(10);  // see postgres_support.hpp
  settings.connect_timeout = std::chrono::seconds(2);
  auto inbox = std::make_shared<aw::PostgresInbox>(argv[1], settings);

  aw::Options options;
  options.secrets = {"whsec_replica_test"};
  options.workers = static_cast<std::size_t>(flags["--workers"]);
  options.max_attempts = static_cast<int>(flags["--max-attempts"]);
  options.retry_base_delay = std::chrono::milliseconds(flags["--retry-ms"]);
  options.retry_max_delay = std::chrono::milliseconds(flags["--retry-ms"]);
  options.drain_timeout = std::chrono::seconds(5);
  aw::WebhookEndpoint endpoint(options, inbox);
  const long handler_ms = flags["--handler-ms"];
  endpoint.on_any([&](const aw::Event& event) {
    append_line(log, "start " + std::to_string(monotonic_ns()) + " " + event.id() + " " +
                         std::to_string(event.attempt()) + " " + replica + "\n");
    const auto& data = event.data();
    const long sleep_ms = data.is_object() ? data.value("sleep_ms", handler_ms) : handler_ms;
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    if (data.is_object() && event.attempt() < data.value("fail_below_attempt", 0)) {
      throw std::runtime_error("failing as asked");
    }
  });
  const int port = endpoint.start("127.0.0.1", 0);
  std::cout << "port " << port << std::endl;

  int signal_number = 0;
  sigwait(&terminate, &signal_number);
  endpoint.stop();
  const auto stats = inbox->stats();
  std::cout << "stats claims=" << stats.claims << " outcomes=" << stats.outcomes
            << " fenced=" << stats.fenced_outcomes << " leases_lost=" << stats.leases_lost
            << std::endl;
  ::close(log);
  return 0;
}
