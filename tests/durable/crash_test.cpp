// The crash test: a child process serves an endpoint with a SqliteInbox; this test sends signed
// events from several threads, kills the child with SIGKILL at random moments, restarts it,
// re-sends every event that got no 2xx (as Allthings would), waits until the inbox is empty,
// and then checks what the child's handler recorded.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <random>

#include "crash_protocol.hpp"
#include "durable_support.hpp"

namespace aw = allthings::webhooks;

namespace {

// A running crash_child; killed and reaped at the latest when destroyed.
class Child {
 public:
  Child(const std::string& inbox, const std::string& processed, int run) {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    pid_ = test::start_process(
        {ALLTHINGS_WEBHOOKS_CRASH_CHILD, inbox, processed, std::to_string(run)}, out[1], false);
    ::close(out[1]);
    REQUIRE(pid_ > 0);
    port_ = read_port(out[0]);
    ::close(out[0]);
    REQUIRE(port_ > 0);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int port() const { return port_; }

  void kill_hard() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // SIGTERM, then the exit status (the child stops its endpoint gracefully).
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  // Reads "port <n>\n"; the limit only bounds a child that never gets there.
  static int read_port(int fd) {
    std::string line;
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up) {
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, 1000) <= 0) continue;
      char buffer[64];
      const auto n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      line.append(buffer, static_cast<std::size_t>(n));
    }
    return line.rfind("port ", 0) == 0 ? std::atoi(line.c_str() + 5) : -1;
  }

  pid_t pid_ = -1;
  int port_ = -1;
};

enum Delivery : int { never_sent = 0, sent_without_2xx = 1, acknowledged = 2 };

struct Tally {
  explicit Tally(std::size_t events) : state(events) {}
  std::vector<std::atomic<int>> state;
  std::atomic<std::size_t> requests{0}, resent{0}, duplicate_answers{0}, acknowledged{0};
};

std::string event_id(std::size_t i) { return "evt-" + std::to_string(i); }

// Sends the events in `todo` from several threads until done or `stop` is set.
void send(int port, const std::vector<std::size_t>& todo, Tally& tally,
          const std::atomic<bool>& stop) {
  constexpr int senders = 8;
  std::atomic<std::size_t> cursor{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_connection_timeout(2, 0);
      client.set_read_timeout(10, 0);
      while (!stop) {
        const std::size_t next = cursor++;
        if (next >= todo.size()) return;
        const std::size_t i = todo[next];
        const auto body = aw::testing::envelope_body(event_id(i), "ticket.created", {{"n", i}});
        if (tally.state[i].exchange(sent_without_2xx) == sent_without_2xx) ++tally.resent;
        ++tally.requests;
        const auto response = client.Post("/webhooks/allthings",
                                          aw::testing::signed_headers(body, crash::secret), body,
                                          "application/json");
        if (response && response->status / 100 == 2) {
          tally.state[i] = acknowledged;
          ++tally.acknowledged;
          if (response->body.find("duplicate") != std::string::npos) ++tally.duplicate_answers;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

std::vector<std::size_t> not_acknowledged(const Tally& tally) {
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < tally.state.size(); ++i) {
    if (tally.state[i] != acknowledged) todo.push_back(i);
  }
  return todo;
}

// id -> the runs of the child in which the handler ran it, in order.
std::map<std::string, std::vector<int>> processed_runs(const std::string& path) {
  std::map<std::string, std::vector<int>> runs;
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* query = nullptr;
  sqlite3_prepare_v2(db, "SELECT id, run FROM processed ORDER BY rowid", -1, &query, nullptr);
  while (sqlite3_step(query) == SQLITE_ROW) {
    runs[reinterpret_cast<const char*>(sqlite3_column_text(query, 0))].push_back(
        sqlite3_column_int(query, 1));
  }
  sqlite3_finalize(query);
  sqlite3_close(db);
  return runs;
}

unsigned seed_for_this_run() {
  if (const char* fixed = std::getenv("ALLTHINGS_WEBHOOKS_CRASH_SEED")) {
    return static_cast<unsigned>(std::strtoul(fixed, nullptr, 10));
  }
  return std::random_device{}();
}

}  // namespace

TEST_CASE("acknowledged events survive SIGKILL: all run, none invented, repeats only if running") {
  constexpr std::size_t events = 2400;
  constexpr int kills = 3;
  const test::SigpipeIgnored sigpipe_ignored;  // the senders write to a child being killed
  test::ScratchDir dir;
  const auto inbox_path = dir.file("inbox.db");
  const auto processed_path = dir.file("processed.db");
  const unsigned seed = seed_for_this_run();
  std::mt19937 random(seed);
  // The crash comes after a random share of this run's deliveries was acknowledged, so it
  // always lands mid-stream, with requests in flight and handlers running.
  std::uniform_real_distribution<double> kill_after_share(0.1, 0.9);
  Tally tally(events);
  const auto started = std::chrono::steady_clock::now();

  std::vector<std::size_t> todo(events);
  for (std::size_t i = 0; i < events; ++i) todo[i] = i;
  for (int run = 0; run < kills; ++run) {
    const auto acknowledged_before = events - todo.size();
    const auto kill_at = acknowledged_before +
                         static_cast<std::size_t>(kill_after_share(random) * todo.size());
    Child child(inbox_path, processed_path, run);
    std::atomic<bool> stop{false};
    std::thread sending([&] { send(child.port(), todo, tally, stop); });
    const bool reached = test::eventually([&] { return tally.acknowledged >= kill_at; }, 60s);
    child.kill_hard();
    stop = true;
    sending.join();
    REQUIRE(reached);
    todo = not_acknowledged(tally);
    MESSAGE("run " << run << " killed at " << kill_at << " acknowledged, "
            << events - todo.size() << " acknowledged once the senders noticed");
  }

  Child last(inbox_path, processed_path, kills);
  const std::atomic<bool> never{false};
  for (int round = 0; round < 5 && !todo.empty(); ++round) {
    send(last.port(), todo, tally, never);
    todo = not_acknowledged(tally);
  }
  REQUIRE(todo.empty());
  test::DatabaseFile inbox_file(inbox_path);
  REQUIRE(test::eventually(
      [&] { return inbox_file.text("SELECT count(*) FROM events WHERE state = 'pending'") == "0"; },
      90s));
  CHECK(last.stop() == 0);

  const auto runs = processed_runs(processed_path);
  std::size_t missing = 0, invented = 0, repeated = 0;
  std::map<int, std::size_t> repeats_per_killed_run;
  for (std::size_t i = 0; i < events; ++i) {
    if (tally.state[i] == acknowledged && runs.count(event_id(i)) == 0) ++missing;
  }
  // Plain pairs, not structured bindings: clang 14 cannot capture those in CHECK_MESSAGE.
  for (const auto& entry : runs) {
    const std::string& id = entry.first;
    const std::vector<int>& in_runs = entry.second;
    const auto number =
        id.rfind("evt-", 0) == 0 ? std::strtoul(id.c_str() + 4, nullptr, 10) : events;
    if (number >= events || tally.state[number] == never_sent) ++invented;
    if (in_runs.size() > 1) ++repeated;
    // Every run but the last that ran it must have been killed while running it: so a killed
    // run, each at most once.
    for (std::size_t k = 0; k + 1 < in_runs.size(); ++k) {
      CHECK_MESSAGE(in_runs[k] < kills, id << " ran twice though no crash interrupted it");
      CHECK_MESSAGE(in_runs[k] < in_runs[k + 1], id << " ran twice in one run of the child");
      ++repeats_per_killed_run[in_runs[k]];
    }
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("crash test: seed " << seed << ", " << events << " events, " << kills
          << " kills, requests " << tally.requests.load() << ", re-sent " << tally.resent.load()
          << ", answered duplicate " << tally.duplicate_answers.load() << ", processed "
          << runs.size() << ", processed more than once " << repeated << ", " << seconds
          << " s");
  CHECK(missing == 0);
  CHECK(invented == 0);
  CHECK(runs.size() == events);  // in the end every event was acknowledged, so every one ran
  for (const auto& repeats : repeats_per_killed_run) {
    CHECK_MESSAGE(repeats.second <= crash::workers,
                  "run " << repeats.first << " repeated " << repeats.second
                         << " events, more than could be running");
  }
}
