// Leases with real processes: a replica that dies holding an event gives it up when its lease
// ends (not before), and a replica frozen past its lease cannot overwrite, when it wakes, what
// the replica that took its event over decided (fencing by lease token).
#include <doctest/doctest.h>

#include <thread>

#include "postgres_support.hpp"
#include "replica_process.hpp"

namespace aw = allthings::webhooks;

namespace {

constexpr auto lease = std::chrono::milliseconds(1500);
constexpr auto heartbeat = std::chrono::milliseconds(300);

std::vector<std::string> short_lease() {
  return {"--lease-ms", std::to_string(lease.count()), "--heartbeat-ms",
          std::to_string(heartbeat.count())};
}

int post(int port, const std::string& body) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  const auto response =
      client.Post("/webhooks/allthings", aw::testing::signed_headers(body, "whsec_replica_test"),
                  body, "application/json");
  return response ? response->status : -1;
}

// The replica in this process that takes over: same schema, short lease.
struct TakingOver {
  TakingOver(const std::string& conninfo, const std::string& schema, aw::Options options,
             const std::string& name = "taker") {
    auto settings = test::pg::settings(schema, name);
    settings.lease = lease;
    settings.heartbeat_interval = heartbeat;
    inbox = std::make_shared<aw::PostgresInbox>(conninfo, settings);
    receiver = std::make_unique<aw::Receiver>(std::move(options), inbox);
  }
  std::shared_ptr<aw::PostgresInbox> inbox;
  std::unique_ptr<aw::Receiver> receiver;
};

}  // namespace

TEST_CASE(
    "postgres: the events of a replica that died run elsewhere once its lease ends, not before") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  test::pg::ScratchDir dir;
  const auto log = dir.file("dying.log");
  test::pg::Replica dying(server->conninfo(), schema, "dying", log, short_lease());
  const auto body =
      aw::testing::envelope_body("evt-orphan", "ticket.created", {{"sleep_ms", 60000}});
  REQUIRE(post(dying.port(), body) == 200);
  REQUIRE(test::eventually([&] { return test::pg::read_starts({log}).size() == 1; }));
  dying.kill_hard();
  const auto killed_at = std::chrono::steady_clock::now();

  TakingOver taker(server->conninfo(), schema, test::options());
  std::atomic<long long> taken_after_ms{-1};
  taker.receiver->on_any([&](const aw::Event& e) {
    if (e.id() == "evt-orphan" && taken_after_ms < 0) {
      taken_after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - killed_at)
                           .count();
    }
  });
  taker.receiver->start();
  REQUIRE(test::eventually([&] { return taken_after_ms >= 0; }, 20s));
  MESSAGE("taken over " << taken_after_ms.load() << " ms after the kill (lease " << lease.count()
                        << " ms, heartbeat every " << heartbeat.count() << " ms)");
  // The last heartbeat came at most one interval before the kill.
  CHECK(taken_after_ms >= (lease - heartbeat).count());
  CHECK(test::eventually(
      [&] { return taker.inbox->find("evt-orphan")->state == aw::StoredState::completed; }));
}

namespace {

// A replica frozen in the middle of a handler; the one taking over fails the event once, so it
// waits for a retry 10 minutes away. The frozen replica's stale outcome, written with its old
// token when it wakes, must change nothing: `data` makes its handler succeed (a complete) or fail
// (a retry; a dead letter with `flags` --max-attempts 1).
void check_stale_outcome_fenced(const nlohmann::json& data, std::vector<std::string> flags = {}) {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  test::pg::ScratchDir dir;
  const auto log = dir.file("frozen.log");
  auto replica_flags = short_lease();
  replica_flags.insert(replica_flags.end(), flags.begin(), flags.end());
  test::pg::Replica frozen(server->conninfo(), schema, "frozen", log, replica_flags);
  const auto body = aw::testing::envelope_body("evt-contested", "ticket.created", data);
  REQUIRE(post(frozen.port(), body) == 200);
  REQUIRE(test::eventually([&] { return test::pg::read_starts({log}).size() == 1; }));
  frozen.freeze();  // a long GC pause, a VM stopped: no heartbeats, the handler stands still

  auto options = test::options();
  options.retry_base_delay = std::chrono::minutes(10);
  options.retry_max_delay = std::chrono::minutes(10);
  TakingOver taker(server->conninfo(), schema, options);
  std::atomic<int> taker_runs{0};
  taker.receiver->on_any([&](const aw::Event&) {
    ++taker_runs;
    throw std::runtime_error("the taker fails its attempt");
  });
  taker.receiver->start();
  REQUIRE(test::eventually(
      [&] {
        const auto stored = taker.inbox->find("evt-contested");
        return stored && stored->attempt == 2;  // the taker's retry is scheduled
      },
      20s));
  CHECK(taker_runs == 1);

  frozen.thaw();  // its handler ends and it writes its outcome with its old token
  const auto stats = frozen.stop();
  CHECK(stats.at("exit") == 0);
  CHECK(stats.at("fenced") == 1);
  CHECK(stats.at("leases_lost") >= 1);
  const auto stored = taker.inbox->find("evt-contested");
  REQUIRE(stored);
  CHECK(stored->state == aw::StoredState::pending);  // still the taker's retry
  CHECK(stored->attempt == 2);
  REQUIRE(stored->next_attempt_at);
  CHECK(*stored->next_attempt_at > std::chrono::system_clock::now() + std::chrono::minutes(9));
  CHECK(taker_runs == 1);
  test::pg::Client look(server->conninfo());
  CHECK(look.value("SELECT completed_by FROM \"" + schema +
                   "\".seen_ids WHERE id = 'evt-contested'") == "NULL");
}

}  // namespace

TEST_CASE("postgres: a replica frozen past its lease cannot overwrite the outcome of the one that "
          "took over") {
  // The handler takes 2 s: long enough to be frozen in the middle of it.
  SUBCASE("its complete") { check_stale_outcome_fenced({{"sleep_ms", 2000}}); }
  SUBCASE("its retry") {
    check_stale_outcome_fenced({{"sleep_ms", 2000}, {"fail_below_attempt", 2}});
  }
  SUBCASE("its dead letter") {
    check_stale_outcome_fenced({{"sleep_ms", 2000}, {"fail_below_attempt", 2}},
                               {"--max-attempts", "1"});
  }
}

// Without renewals a lease would run out under a handler that takes longer than the lease, and
// a replica (this one or another) would claim the event again and run it twice.
TEST_CASE("postgres: a handler that outlasts its lease keeps the event: heartbeats renew it") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  TakingOver first(server->conninfo(), schema, test::options(), "first");
  TakingOver second(server->conninfo(), schema, test::options(), "second");
  std::atomic<int> runs{0};
  const auto slow = [&](const aw::Event&) {
    ++runs;
    std::this_thread::sleep_for(3 * lease);
  };
  first.receiver->on_any(slow);
  second.receiver->on_any(slow);
  first.receiver->start();
  second.receiver->start();
  const auto body = aw::testing::envelope_body("evt-long", "ticket.created", {{"n", 1}});
  REQUIRE(first.receiver
              ->handle("POST",
                       aw::testing::sign_headers(first.receiver->options(), body, test::secret),
                       body)
              .status == 200);
  REQUIRE(test::eventually(
      [&] {
        const auto stored = first.inbox->find("evt-long");
        return stored && stored->state == aw::StoredState::completed;
      },
      20s));
  CHECK(runs == 1);
  CHECK(first.inbox->stats().leases_lost + second.inbox->stats().leases_lost == 0);
}
