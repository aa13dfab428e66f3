// Graceful shutdown on SIGTERM, the way Kubernetes stops a pod: a child process under load from
// several keep-alive clients gets SIGTERM. /readyz must turn 503 at once while webhooks are
// still served for drain_delay; then the listener closes, nothing is acknowledged any more,
// workers drain, and the process exits within its deadlines. Every acknowledged event must
// have reached the handler (memory inbox) or be on disk (durable inbox).
#include <doctest/doctest.h>

#include <allthings/webhooks/testing.hpp>
#ifdef ALLTHINGS_WEBHOOKS_WITH_SQLITE
#include <allthings/webhooks/inbox/sqlite_file.hpp>
#endif

#include <atomic>
#include <map>
#include <set>
#include <sstream>

#include "../support.hpp"
#include "operations_support.hpp"

namespace aw = allthings::webhooks;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

const std::string child_secret = "whsec_shutdown_test";

struct Request {
  std::string id;
  SteadyTime sent;
  SteadyTime answered;
  int status = -1;
};

struct Probe {
  SteadyTime sent;
  int status = -1;
  std::string body;
};

struct Settings {
  std::string inbox;
  int drain_delay_ms;
  int drain_timeout_ms;
  int handler_ms;
};

struct Outcome {
  int exit_code = -1;
  SteadyTime signalled;
  SteadyTime exited;
  std::vector<Request> requests;
  std::vector<Probe> probes;
  std::vector<test::ChildProcess::Line> log;
  std::set<std::string> processed;
  std::string inbox_path;
};

std::optional<SteadyTime> when_logged(const Outcome& outcome, const std::string& text) {
  for (const auto& line : outcome.log) {
    if (line.text.find(text) != std::string::npos) return line.at;
  }
  return std::nullopt;
}

// Starts the child, loads it with 4 senders and a readiness prober, sends SIGTERM once 300
// deliveries are acknowledged, and keeps loading it until it exits. The child's queue holds
// 500 events: beyond that deliveries are answered 503 and not acknowledged.
// The load clients write into connections the stopping server closes (test::SigpipeIgnored).

Outcome shut_down_under_load(const test::TempDir& dir, const Settings& settings) {
  const test::SigpipeIgnored sigpipe_ignored;
  Outcome outcome;
  outcome.inbox_path = dir.file("inbox.db");
  const auto processed_path = dir.file("processed");
  test::ChildProcess child({ALLTHINGS_WEBHOOKS_SHUTDOWN_CHILD, settings.inbox, outcome.inbox_path,
                            processed_path, std::to_string(settings.drain_delay_ms),
                            std::to_string(settings.drain_timeout_ms),
                            std::to_string(settings.handler_ms)});
  const auto port_line = child.wait_for_line("port ");
  REQUIRE(port_line);
  const int port = std::stoi(port_line->text.substr(5));

  std::atomic<bool> stop{false};
  std::atomic<int> next_id{0};
  std::atomic<int> acknowledged{0};
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int s = 0; s < 4; ++s) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_connection_timeout(1, 0);
      // Generous: on a loaded machine a durable commit (fsync) may take seconds.
      client.set_read_timeout(30, 0);
      std::vector<Request> mine;
      while (!stop) {
        Request request;
        request.id = "e-" + std::to_string(next_id++);
        const auto body = aw::testing::envelope_body(request.id, "ticket.created");
        request.sent = std::chrono::steady_clock::now();
        const auto res =
            client.Post("/webhooks/allthings", aw::testing::signed_headers(body, child_secret),
                        body, "application/json");
        request.answered = std::chrono::steady_clock::now();
        request.status = res ? res->status : -1;
        if (request.status / 100 == 2) ++acknowledged;
        mine.push_back(std::move(request));
        if (!res) std::this_thread::sleep_for(1ms);  // refused: the listener is closed
      }
      std::lock_guard<std::mutex> lock(mutex);
      outcome.requests.insert(outcome.requests.end(), mine.begin(), mine.end());
    });
  }
  threads.emplace_back([&] {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1, 0);
    while (!stop) {
      Probe probe;
      probe.sent = std::chrono::steady_clock::now();
      const auto res = client.Get("/readyz");
      probe.status = res ? res->status : -1;
      if (res) probe.body = res->body;
      {
        std::lock_guard<std::mutex> lock(mutex);
        outcome.probes.push_back(probe);
      }
      std::this_thread::sleep_for(2ms);  // a prober every few milliseconds, like a tight kubelet
    }
  });

  const bool loaded = test::eventually([&] { return acknowledged >= 300; }, 120s);
  outcome.signalled = std::chrono::steady_clock::now();
  child.signal(SIGTERM);
  const auto limit =
      std::chrono::milliseconds(settings.drain_delay_ms + settings.drain_timeout_ms) + 30s;
  outcome.exit_code = child.wait_for_exit(limit);
  outcome.exited = child.exited_at();
  stop = true;
  for (auto& thread : threads) thread.join();
  REQUIRE(loaded);
  outcome.log = child.lines();
  std::istringstream processed(test::read_file(processed_path));
  for (std::string id; std::getline(processed, id);) outcome.processed.insert(id);
  return outcome;
}

// What every run must show, whatever the inbox.
void check_kubernetes_sequence(const Outcome& outcome, const Settings& settings) {
  std::string log;
  for (const auto& line : outcome.log) log += line.text + "\n";
  INFO("the child's output:\n" << log);
  CHECK(outcome.exit_code == 0);
  const auto drain_delay = std::chrono::milliseconds(settings.drain_delay_ms);
  const auto took = outcome.exited - outcome.signalled;
  CHECK(took >= drain_delay);
  // drain_delay + drain_timeout, plus keep_alive_timeout (1 s) for a connection cpp-httplib
  // 0.11 may still wait on, plus time to spare on a loaded machine.
  CHECK(took <= drain_delay + std::chrono::milliseconds(settings.drain_timeout_ms) + 1s + 3s);

  // Readiness: 503 draining at once, never 200 again. (Before the signal it may have been 503
  // queue_full for a moment.)
  std::optional<SteadyTime> first_not_ready;
  for (const auto& probe : outcome.probes) {
    if (probe.sent < outcome.signalled) continue;
    if (!first_not_ready && probe.status == 503 &&
        probe.body.find("draining") != std::string::npos) {
      first_not_ready = probe.sent;
    }
    if (first_not_ready && probe.sent > *first_not_ready) CHECK(probe.status != 200);
  }
  REQUIRE(first_not_ready);
  CHECK(*first_not_ready - outcome.signalled < drain_delay / 2);

  // Webhooks are still acknowledged while readiness says 503, until the listener stops.
  const auto stopping = when_logged(outcome, "stopping: requests are refused");
  REQUIRE(stopping);
  CHECK(*stopping - outcome.signalled >= drain_delay);
  REQUIRE(when_logged(outcome, "listener closed"));
  int acknowledged_while_draining = 0;
  int sent_after_stopping = 0;
  for (const auto& request : outcome.requests) {
    if (request.sent > *first_not_ready && request.status == 200) ++acknowledged_while_draining;
    if (request.sent > *stopping) {
      ++sent_after_stopping;
      CHECK_MESSAGE(request.status / 100 != 2, "acknowledged after the listener stopped");
    }
  }
  CHECK(acknowledged_while_draining > 0);
  CHECK(sent_after_stopping > 0);
}

std::string summary(const Outcome& outcome) {
  int acknowledged = 0;
  for (const auto& request : outcome.requests) acknowledged += request.status == 200;
  const auto took = outcome.exited - outcome.signalled;
  // Answers before the signal by status (-1: no answer), and the slowest of them: a loaded
  // machine shows here, not in the shutdown.
  std::map<int, int> before_signal;
  std::chrono::steady_clock::duration slowest{};
  for (const auto& request : outcome.requests) {
    if (request.sent >= outcome.signalled) continue;
    ++before_signal[request.status];
    slowest = std::max(slowest, request.answered - request.sent);
  }
  std::string statuses;
  for (const auto& [status, count] : before_signal) {
    statuses += " " + std::to_string(status) + ":" + std::to_string(count);
  }
  const auto ms = [](auto d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  return std::to_string(outcome.requests.size()) + " requests, " + std::to_string(acknowledged) +
         " acknowledged; before SIGTERM" + statuses + ", slowest answer " + ms(slowest) +
         " ms; SIGTERM to exit " + ms(took) + " ms";
}

}  // namespace

TEST_CASE("SIGTERM drains the way Kubernetes expects and every acknowledged event runs") {
  test::TempDir dir;
  // Handlers of 1 ms leave a queue (up to queue_capacity, 500) for the drain to run.
  const Settings settings{"memory", 1000, 3000, 1};
  const auto outcome = shut_down_under_load(dir, settings);
  MESSAGE(summary(outcome));
  check_kubernetes_sequence(outcome, settings);
  int acknowledged = 0;
  for (const auto& request : outcome.requests) {
    if (request.status != 200) continue;
    ++acknowledged;
    CHECK_MESSAGE(outcome.processed.count(request.id) == 1, request.id << " was acknowledged");
  }
  CHECK(acknowledged >= 300);
  CHECK_FALSE(when_logged(outcome, "undelivered_at_stop"));
}

#ifdef ALLTHINGS_WEBHOOKS_WITH_SQLITE
TEST_CASE("SIGTERM with a durable inbox leaves every acknowledged event done or on disk") {
  test::TempDir dir;
  // Slow handlers and a short drain_timeout: events are left over when the process exits.
  const Settings settings{"sqlite", 800, 500, 100};
  const auto outcome = shut_down_under_load(dir, settings);
  MESSAGE(summary(outcome));
  check_kubernetes_sequence(outcome, settings);
  aw::SqliteInboxFile file(outcome.inbox_path);
  int on_disk = 0;
  for (const auto& request : outcome.requests) {
    if (request.status != 200) continue;
    const auto stored = file.find(request.id);
    const bool done = outcome.processed.count(request.id) == 1;
    const bool pending = stored && stored->state == aw::StoredState::pending;
    if (pending && !done) ++on_disk;
    CHECK_MESSAGE((done || pending), request.id << " was acknowledged");
  }
  MESSAGE(on_disk << " acknowledged events left on disk for the next start");
  CHECK(on_disk > 0);
}
#endif
