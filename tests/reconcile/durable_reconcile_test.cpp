// The reconciler with a SqliteInbox: the high-water mark lives in the inbox file, so a restart
// resumes where the last complete run ended, and a recovered event stays "recovered" across a
// restart. Older inbox files, which have no cursors table, still open and get one.
#include <doctest/doctest.h>

#include <allthings/webhooks/inbox/sqlite.hpp>

#include <sqlite3.h>

#include "reconcile_support.hpp"

namespace aw = allthings::webhooks;
using aw::reconcile::Reconciler;

namespace {

const auto now = [] { return std::chrono::system_clock::now(); };

std::string query_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
  std::string value;
  if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0) != nullptr) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

}  // namespace

TEST_CASE("a restart resumes from the high-water mark kept in the SqliteInbox") {
  test::ReconcileHarness h;
  test::TempDir dir;
  const auto path = dir.file("inbox.db");
  const auto t = now() - std::chrono::hours(2);
  h.api.add_delivery("wh-1", test::delivery("d-1", "e-1", "ticket.created", {{"n", 1}}, t));
  h.api.add_delivery("wh-1", test::delivery("d-2", "e-2", "ticket.created", {{"n", 2}}, t));

  std::optional<std::chrono::system_clock::time_point> mark;
  {
    test::RecordingReceiver r(h.receiver_options(), std::make_shared<aw::SqliteInbox>(path));
    r.receiver.start();
    Reconciler reconciler(r.receiver, h.client(), h.reconciler_settings());
    CHECK(reconciler.high_water_mark_durable());
    const auto report = reconciler.reconcile();
    CHECK(report.events_recovered == 2);
    CHECK(report.high_water_mark_durable);
    CHECK(report.high_water_mark_advanced);
    mark = reconciler.high_water_mark();
    REQUIRE(mark);
    REQUIRE(test::eventually([&] { return r.recorder.event_count() == 2; }));
    r.receiver.stop();
  }
  // While it was down: one event from before the mark (the last run covered that time) and
  // one from after it.
  h.api.add_delivery("wh-1", test::delivery("d-3", "e-before", "ticket.created", {},
                                            *mark - std::chrono::minutes(30)));
  h.api.add_delivery("wh-1", test::delivery("d-4", "e-after", "ticket.created", {{"n", 4}},
                                            *mark + std::chrono::seconds(1)));
  {
    test::RecordingReceiver r(h.receiver_options(), std::make_shared<aw::SqliteInbox>(path));
    r.receiver.start();
    Reconciler reconciler(r.receiver, h.client(), h.reconciler_settings());
    REQUIRE(reconciler.high_water_mark());
    CHECK(*reconciler.high_water_mark() == std::chrono::floor<std::chrono::milliseconds>(*mark));
    const auto report = reconciler.reconcile();
    CHECK(report.since == std::chrono::floor<std::chrono::milliseconds>(*mark));
    CHECK(report.deliveries_scanned == 4);
    CHECK(report.deliveries_before_since == 3);
    CHECK(report.events_recovered == 1);
    REQUIRE(report.recovered.size() == 1);
    CHECK(report.recovered[0].id == "e-after");
    REQUIRE(test::eventually([&] { return r.runs_of("e-after") == 1; }));
    r.receiver.stop();
    CHECK(r.recorder.event_count() == 1);
  }
}

TEST_CASE("a recovered event accepted before a restart runs after it, still marked recovered") {
  test::TempDir dir;
  const auto path = dir.file("inbox.db");
  {
    aw::Receiver receiver(test::options(), std::make_shared<aw::SqliteInbox>(path));
    // Never started: the event waits in the file.
    CHECK(receiver.accept_recovered({"e-1", "ticket.created", "urn:x", "2026-01-01T00:00:00Z",
                                     {{"title", "Leak"}}}) == aw::Acceptance::accepted);
    CHECK(receiver.accept_recovered({"e-1", "ticket.created", "", "", nullptr}) ==
          aw::Acceptance::duplicate);
    receiver.stop();
  }
  test::RecordingReceiver r(test::options(), std::make_shared<aw::SqliteInbox>(path));
  r.receiver.start();
  REQUIRE(test::eventually([&] { return r.recorder.event_count() == 1; }));
  const auto event = r.event("e-1");
  REQUIRE(event);
  CHECK(event->origin() == aw::EventOrigin::recovered);
  CHECK(event->name() == "ticket.created");
  CHECK(event->urn() == "urn:x");
  CHECK(event->created_date() == "2026-01-01T00:00:00Z");
  CHECK(event->data() == nlohmann::json{{"title", "Leak"}});
  r.receiver.stop();
}

TEST_CASE("a sender cannot make a live delivery look recovered, also after a restart") {
  test::TempDir dir;
  const auto path = dir.file("inbox.db");
  const auto body = aw::testing::envelope_body("e-2", "ticket.created", {});
  {
    aw::Receiver receiver(test::options(), std::make_shared<aw::SqliteInbox>(path));
    auto headers = aw::testing::sign_headers(receiver.options(), body, test::secret);
    headers.emplace_back(":origin", "recovered");
    headers.emplace_back(":ORIGIN", "recovered");
    CHECK(receiver.handle("POST", headers, body).status == 200);
    receiver.stop();  // never started: the event waits in the file
  }
  test::RecordingReceiver r(test::options(), std::make_shared<aw::SqliteInbox>(path));
  r.receiver.start();
  REQUIRE(test::eventually([&] { return r.recorder.event_count() == 1; }));
  CHECK(r.event("e-2")->origin() == aw::EventOrigin::delivered);
  CHECK(r.event("e-2")->header(":origin") == "");
  r.receiver.stop();
}

TEST_CASE("an inbox file from before cursors existed opens and gets its cursors table") {
  test::TempDir dir;
  const auto path = dir.file("inbox.db");
  { aw::SqliteInbox inbox(path); }
  CHECK(query_text(path, "SELECT count(*) FROM sqlite_master WHERE name = 'cursors'") == "0");
  CHECK(query_text(path, "PRAGMA user_version") == "2");  // no schema version change
  {
    aw::SqliteInbox inbox(path);
    CHECK_FALSE(inbox.load_cursor("k").has_value());
    inbox.save_cursor("k", "1");
    inbox.save_cursor("k", "2");
  }
  aw::SqliteInbox reopened(path);
  CHECK(reopened.load_cursor("k") == std::optional<std::string>("2"));
}

TEST_CASE("a dry run lists what is missing without running it or moving the mark") {
  test::ReconcileHarness h;
  test::TempDir dir;
  const auto t = now() - std::chrono::hours(1);
  h.api.add_delivery("wh-1", test::delivery("d-1", "e-1", "ticket.created", {{"n", 1}}, t));
  h.api.add_delivery("wh-1", test::delivery("d-2", "e-2", "ticket.created", {{"n", 2}}, t));
  test::RecordingReceiver r(h.receiver_options(),
                            std::make_shared<aw::SqliteInbox>(dir.file("inbox.db")));
  r.receiver.start();
  CHECK(test::deliver_live(r.receiver, "e-1", {{"n", 1}}).status == 200);
  REQUIRE(test::eventually([&] { return r.runs_of("e-1") == 1; }));
  auto settings = h.reconciler_settings();
  settings.dry_run = true;
  Reconciler reconciler(r.receiver, h.client(), settings);
  const auto report = reconciler.reconcile();
  CHECK(report.dry_run);
  CHECK_FALSE(report.seen_unknown);
  CHECK(report.events_already_seen == 1);
  CHECK(report.events_recovered == 1);
  REQUIRE(report.recovered.size() == 1);
  CHECK(report.recovered[0].id == "e-2");
  CHECK_FALSE(report.high_water_mark_advanced);
  CHECK_FALSE(reconciler.high_water_mark().has_value());
  r.receiver.stop();
  CHECK(r.recorder.event_count() == 1);
}
