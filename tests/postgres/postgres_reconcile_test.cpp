// The reconciler with a PostgresInbox shared by two replicas: an event recovered by one replica
// runs once on whichever replica claims it, an event either replica saw live is not recovered,
// and the high-water mark lives in the database, so another replica's run (or a restart)
// resumes where the last complete run ended.
#include <doctest/doctest.h>

#include "../reconcile/reconcile_support.hpp"
#include "postgres_support.hpp"

namespace aw = allthings::webhooks;
using aw::reconcile::Reconciler;

namespace {

std::shared_ptr<aw::PostgresInbox> replica_inbox(test::pg::TemporaryServer& server,
                                                 const std::string& schema,
                                                 const std::string& replica) {
  return std::make_shared<aw::PostgresInbox>(server.conninfo(),
                                             test::pg::settings(schema, replica));
}

}  // namespace

TEST_CASE("postgres: a recovered event runs once across replicas, which share the mark") {
  auto* server = test::pg::server_or_skip();
  if (server == nullptr) return;
  const auto schema = test::pg::fresh_schema();
  test::ReconcileHarness h;
  const auto t = std::chrono::system_clock::now() - std::chrono::hours(2);
  for (int i = 1; i <= 4; ++i) {
    const auto n = std::to_string(i);
    h.api.add_delivery("wh-1", test::delivery("d-" + n, "e-" + n, "ticket.created", {{"n", i}}, t));
  }

  test::RecordingReceiver a(h.receiver_options(), replica_inbox(*server, schema, "a"));
  test::RecordingReceiver b(h.receiver_options(), replica_inbox(*server, schema, "b"));
  a.receiver.start();
  b.receiver.start();
  // e-1 reached replica a live; b recovers the rest.
  CHECK(test::deliver_live(a.receiver, "e-1", {{"n", 1}}).status == 200);

  const auto runs_of = [&](const std::string& id) { return a.runs_of(id) + b.runs_of(id); };
  const auto runs = [&] { return a.recorder.event_count() + b.recorder.event_count(); };
  std::optional<std::chrono::system_clock::time_point> mark;
  {
    Reconciler reconciler(b.receiver, h.client(), h.reconciler_settings());
    CHECK(reconciler.high_water_mark_durable());
    const auto report = reconciler.reconcile();
    CHECK(report.complete);
    CHECK(report.events_already_seen == 1);
    CHECK(report.events_recovered == 3);
    CHECK(report.high_water_mark_advanced);
    mark = reconciler.high_water_mark();
    REQUIRE(mark);
  }
  REQUIRE(test::eventually([&] { return runs() == 4; }));
  for (int i = 1; i <= 4; ++i) CHECK(runs_of("e-" + std::to_string(i)) == 1);
  const auto recovered = a.event("e-3") ? a.event("e-3") : b.event("e-3");
  REQUIRE(recovered);
  CHECK(recovered->origin() == aw::EventOrigin::recovered);
  CHECK(recovered->data() == nlohmann::json{{"n", 3}});

  // A later event; replica a's own reconciler starts from the mark b's run left in the database.
  h.api.add_delivery("wh-1", test::delivery("d-5", "e-5", "ticket.created", {{"n", 5}},
                                            *mark + std::chrono::seconds(1)));
  Reconciler reconciler(a.receiver, h.client(), h.reconciler_settings());
  REQUIRE(reconciler.high_water_mark());
  CHECK(*reconciler.high_water_mark() == std::chrono::floor<std::chrono::milliseconds>(*mark));
  const auto report = reconciler.reconcile();
  CHECK(report.since == std::chrono::floor<std::chrono::milliseconds>(*mark));
  CHECK(report.deliveries_before_since == 4);
  CHECK(report.events_recovered == 1);
  REQUIRE(report.recovered.size() == 1);
  CHECK(report.recovered[0].id == "e-5");
  // Asked to look further back than the mark, it finds everything already seen.
  const auto again = reconciler.reconcile(t - std::chrono::minutes(1));
  CHECK(again.events_recovered == 0);
  CHECK(again.events_already_seen == 5);

  REQUIRE(test::eventually([&] { return runs_of("e-5") == 1; }));
  a.receiver.stop();
  b.receiver.stop();
  CHECK(runs() == 5);
}
