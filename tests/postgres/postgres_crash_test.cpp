// The multi-process crash test: three replicas (receiver_process) share one database; senders
// spread signed events over whichever replicas are up; replicas are SIGKILLed at random under
// load and replaced, and the database restarts in the middle. Every event that got no 2xx is
// sent again, as Allthings would, until all are acknowledged. Then: every acknowledged event
// ran, nothing ran that was never sent, an event ran twice only when a kill interrupted it,
// and every outcome stored is the one of the replica that ran the event last (no outcome of a
// fenced-off worker).
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "postgres_support.hpp"
#include "replica_process.hpp"

namespace aw = allthings::webhooks;

namespace {

constexpr std::size_t replicas = 3;
constexpr std::size_t workers = 4;  // receiver_process's default
// Small, so that the repeat check below stays tight (unbounded, a kill repeated 5 and 8
// finished events), yet completions do return before their commit.
constexpr std::size_t unwritten_completions = 2;
constexpr int kills = 4;

// The replicas that are up, replaced as they are killed.
class Fleet {
 public:
  Fleet(std::string conninfo, std::string schema, const test::pg::ScratchDir& dir)
      : conninfo_(std::move(conninfo)), schema_(std::move(schema)), dir_(dir) {
    for (std::size_t slot = 0; slot < replicas; ++slot) slots_.push_back(start());
  }

  std::vector<int> ports() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int> ports;
    for (const auto& replica : slots_) {
      if (replica) ports.push_back(replica->port());
    }
    return ports;
  }

  // SIGKILLs the replica in `slot` and starts a new one there; returns the killed one's name.
  std::string kill_and_replace(std::size_t slot) {
    std::unique_ptr<test::pg::Replica> dying;
    std::string name;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      dying = std::move(slots_[slot]);
      name = names_.at(dying.get());
    }
    dying->kill_hard();
    killed_.insert(name);
    auto fresh = start_supervised();
    std::lock_guard<std::mutex> lock(mutex_);
    slots_[slot] = std::move(fresh);
    return name;
  }

  // Stops every replica gracefully; returns the fenced outcomes they counted.
  long stop_all() {
    long fenced = 0;
    for (auto& replica : slots_) {
      const auto stats = replica->stop();
      CHECK(stats.at("exit") == 0);
      fenced += stats.at("fenced");
    }
    return fenced;
  }

  const std::vector<std::string>& logs() const { return logs_; }
  // Why replacements failed to start (each was started again).
  const std::vector<std::string>& failed_starts() const { return failed_starts_; }
  const std::set<std::string>& killed() const { return killed_; }

 private:
  std::unique_ptr<test::pg::Replica> start() {
    const auto name = "run-" + std::to_string(runs_++);
    logs_.push_back(dir_.file(name + ".log"));
    auto replica = std::make_unique<test::pg::Replica>(
        conninfo_, schema_, name, logs_.back(),
        std::vector<std::string>{"--lease-ms", "5000", "--heartbeat-ms", "500", "--handler-ms",
                                 "2", "--unwritten-completions",
                                 std::to_string(unwritten_completions)});
    names_[replica.get()] = name;
    return replica;
  }

  // A replacement whose inbox refuses to open (on an overloaded machine a setup statement has
  // outlived its statement_timeout) is started again, as a supervisor would restart it.
  std::unique_ptr<test::pg::Replica> start_supervised() {
    for (int attempt = 1;; ++attempt) {
      try {
        return start();
      } catch (const std::runtime_error& error) {
        failed_starts_.push_back(error.what());
        if (attempt == 3) throw;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

  std::string conninfo_, schema_;
  const test::pg::ScratchDir& dir_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<test::pg::Replica>> slots_;
  std::map<const test::pg::Replica*, std::string> names_;
  std::vector<std::string> logs_;
  std::set<std::string> killed_;
  std::vector<std::string> failed_starts_;
  int runs_ = 0;
};

enum Delivery : int { never_sent = 0, sent_without_2xx = 1, acknowledged = 2 };

std::string event_id(std::size_t i) { return "evt-" + std::to_string(i); }

unsigned seed_for_this_run() {
  if (const char* fixed = std::getenv("ALLTHINGS_WEBHOOKS_CRASH_SEED")) {
    return static_cast<unsigned>(std::strtoul(fixed, nullptr, 10));
  }
  return std::random_device{}();
}

}  // namespace

TEST_CASE("postgres: replicas killed under load and a database restart lose nothing and repeat "
          "only what a kill interrupted") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const test::SigpipeIgnored sigpipe_ignored;  // the senders write to replicas being killed
  constexpr std::size_t events = 1500;
  const auto schema = test::pg::fresh_schema();
  test::pg::ScratchDir dir;
  const unsigned seed = seed_for_this_run();
  std::mt19937 random(seed);
  const auto started = std::chrono::steady_clock::now();
  Fleet fleet(server->conninfo(), schema, dir);

  std::vector<std::atomic<int>> state(events);
  std::atomic<std::size_t> acknowledged_count{0}, requests{0}, duplicates{0};
  std::atomic<bool> all_done{false};
  // Chaos steps finished. Senders never run more than one step ahead of the chaos, so every
  // step lands mid-stream however fast the replicas acknowledge (a fast fleet could otherwise
  // acknowledge every event while the database restarts, and the later kills never happen).
  std::atomic<int> chaos_steps_done{0};
  auto chaos_threshold = [&](int step) {
    return events * static_cast<std::size_t>(step) / (kills + 2);
  };

  // Senders: each takes the next event not yet acknowledged and posts it to a replica that is
  // up, round after round until every event is acknowledged.
  auto send_round = [&](const std::vector<std::size_t>& todo) {
    std::atomic<std::size_t> cursor{0};
    std::vector<std::thread> threads;
    for (int s = 0; s < 8; ++s) {
      threads.emplace_back([&, s] {
        std::mt19937 pick(seed + static_cast<unsigned>(s));
        for (std::size_t next = cursor++; next < todo.size(); next = cursor++) {
          while (chaos_steps_done <= kills &&
                 acknowledged_count >= chaos_threshold(chaos_steps_done + 2)) {
            std::this_thread::sleep_for(1ms);
          }
          const std::size_t i = todo[next];
          const auto ports = fleet.ports();
          const int port = ports[pick() % ports.size()];
          const auto body = aw::testing::envelope_body(event_id(i), "ticket.created", {{"n", i}});
          state[i] = std::max(state[i].load(), int{sent_without_2xx});
          ++requests;
          httplib::Client client("127.0.0.1", port);
          client.set_connection_timeout(1, 0);
          client.set_read_timeout(15, 0);
          const auto response = client.Post("/webhooks/allthings",
                                            aw::testing::signed_headers(body, "whsec_replica_test"),
                                            body, "application/json");
          if (response && response->status / 100 == 2 &&
              state[i].exchange(acknowledged) != acknowledged) {
            ++acknowledged_count;
            if (response->body.find("duplicate") != std::string::npos) ++duplicates;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
  };

  // The chaos, at fixed shares of the events acknowledged, so it always lands mid-stream:
  // kills at 1/6, 2/6, 4/6 and 5/6, the database's restart at 3/6.
  std::vector<std::string> killed_names;
  std::string chaos_failure;  // reported after the join: a throw in a thread would terminate
  std::thread chaos([&] {
    int done_kills = 0;
    try {
      for (int step = 1; step <= kills + 1; ++step) {
        const auto threshold = chaos_threshold(step);
        while (acknowledged_count < threshold && !all_done) std::this_thread::sleep_for(1ms);
        if (all_done) return;
        if (step == 3) {
          server->stop();
          std::this_thread::sleep_for(500ms);
          server->start();
          chaos_steps_done = step;
          continue;
        }
        killed_names.push_back(fleet.kill_and_replace(random() % replicas));
        ++done_kills;
        chaos_steps_done = step;
      }
    } catch (const std::exception& error) {
      chaos_failure = error.what();
      chaos_steps_done = kills + 1;  // senders stop waiting for steps that will not come
    }
    (void)done_kills;
  });

  std::vector<std::size_t> todo(events);
  for (std::size_t i = 0; i < events; ++i) todo[i] = i;
  for (int round = 0; round < 50 && !todo.empty(); ++round) {
    send_round(todo);
    todo.clear();
    for (std::size_t i = 0; i < events; ++i) {
      if (state[i] != acknowledged) todo.push_back(i);
    }
    if (!todo.empty()) std::this_thread::sleep_for(200ms);
  }
  all_done = true;
  chaos.join();
  for (const auto& reason : fleet.failed_starts())
    MESSAGE("a replacement did not start: " << reason);
  REQUIRE_MESSAGE(chaos_failure.empty(), chaos_failure);
  REQUIRE(todo.empty());
  CHECK(killed_names.size() == static_cast<std::size_t>(kills));

  test::pg::Client look(server->conninfo());
  const auto queue = "\"" + schema + "\".events";
  REQUIRE(
      test::eventually([&] { return look.value("SELECT count(*) FROM " + queue) == "0"; }, 60s));
  const long fenced = fleet.stop_all();

  // What ran, in order, and who completed each event.
  std::map<std::string, std::vector<std::string>> runs;  // id -> replicas, in time order
  for (const auto& start : test::pg::read_starts(fleet.logs())) {
    runs[start.id].push_back(start.replica);
  }
  std::map<std::string, std::string> completed_by;
  for (const auto& row : look.rows("SELECT id, completed_by FROM \"" + schema +
                                   "\".seen_ids WHERE completed_at_ms IS NOT NULL")) {
    completed_by[row[0]] = row[1];
  }

  std::size_t missing = 0, invented = 0, repeated = 0, not_last = 0;
  std::map<std::string, std::size_t> repeats_per_killed;
  for (std::size_t i = 0; i < events; ++i) {
    if (runs.count(event_id(i)) == 0) ++missing;
  }
  for (const auto& entry : runs) {
    const std::string& id = entry.first;
    const std::vector<std::string>& by = entry.second;
    const auto number =
        id.rfind("evt-", 0) == 0 ? std::strtoul(id.c_str() + 4, nullptr, 10) : events;
    if (number >= events || state[number] == never_sent) ++invented;
    if (by.size() > 1) ++repeated;
    // Every run but the last must be a replica killed while running it: each at most once.
    for (std::size_t k = 0; k + 1 < by.size(); ++k) {
      CHECK_MESSAGE(fleet.killed().count(by[k]) == 1,
                    id << " ran again though " << by[k] << " was never killed");
      CHECK_MESSAGE(std::count(by.begin(), by.end(), by[k]) == 1, id << " ran twice in " << by[k]);
      ++repeats_per_killed[by[k]];
    }
    if (completed_by[id] != by.back()) {
      ++not_last;
      MESSAGE(id << " was completed by '" << completed_by[id] << "', last run by " << by.back());
    }
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("postgres crash test: seed "
          << seed << ", " << events << " events over " << replicas << " replicas, " << kills
          << " kills and a database restart, " << requests.load() << " requests, "
          << duplicates.load() << " answered duplicate, " << repeated << " events ran twice, "
          << fenced << " outcomes fenced, " << seconds << " s");
  CHECK(missing == 0);
  CHECK(invented == 0);
  CHECK(runs.size() == events);
  CHECK(completed_by.size() == events);
  CHECK(not_last == 0);
  // A kill repeats what ran and was not finished in the database: per worker a running
  // handler or a completion it waits for, and up to `unwritten_completions` returned
  // completions still on their way (LeaseKeeper::write).
  const auto unfinished = workers + unwritten_completions;
  for (const auto& repeats : repeats_per_killed) {
    CHECK_MESSAGE(repeats.second <= unfinished, repeats.first << " left " << repeats.second
                                                               << " events to run again, more "
                                                                  "than could be unfinished");
  }
}
