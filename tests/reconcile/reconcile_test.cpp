// The reconciler against a local fake of Allthings' Webhooks API over HTTPS: recovery through
// the receiver's own acceptance path, dedupe with live deliveries, malformed deliveries, and a
// client that survives 401, 429, 5xx and a slow page without ever logging its secrets.
#include <doctest/doctest.h>

#include "reconcile_support.hpp"

namespace aw = allthings::webhooks;
using aw::reconcile::Reconciler;

namespace {

const auto now = [] { return std::chrono::system_clock::now(); };

// Five deliveries of four events on three pages of two: e-3 was attempted twice.
void add_history(test::FakeWebhooksApi& api) {
  const auto t = now() - std::chrono::hours(2);
  api.add_delivery("wh-1", test::delivery("d-1", "e-1", "ticket.created", {{"n", 1}}, t));
  api.add_delivery("wh-1", test::delivery("d-2", "e-2", "ticket.created", {{"n", 2}}, t));
  api.add_delivery("wh-1", test::delivery("d-3", "e-3", "ticket.updated", {{"n", 3}}, t));
  api.add_delivery("wh-1", test::delivery("d-4", "e-3", "ticket.updated", {{"n", 3}}, t));
  api.add_delivery("wh-1",
                   test::delivery("d-5", "e-4", "booking.accepted", {{"n", 4}}, t, "SUCCESS"));
}

}  // namespace

TEST_CASE("events whose live delivery never arrived are recovered once and run once") {
  test::ReconcileHarness h;
  add_history(h.api);
  test::RecordingReceiver r(h.receiver_options());
  r.receiver.start();
  // e-1 arrived live and was processed.
  CHECK(test::deliver_live(r.receiver, "e-1", {{"n", 1}}).status == 200);
  REQUIRE(test::eventually([&] { return r.runs_of("e-1") == 1; }));

  Reconciler reconciler(r.receiver, h.client(), h.reconciler_settings());
  const auto report = reconciler.reconcile();
  CHECK(report.complete);
  CHECK(report.error == "");
  CHECK(report.pages == 3);
  CHECK(report.deliveries_scanned == 5);
  CHECK(report.events_already_seen == 1);
  CHECK(report.events_recovered == 3);
  CHECK(report.failed_to_parse == 0);
  REQUIRE(report.recovered.size() == 3);
  CHECK(report.recovered[0].id == "e-2");
  CHECK(report.recovered[2].delivery_status == "SUCCESS");

  REQUIRE(test::eventually([&] { return r.recorder.event_count() == 4; }));
  CHECK(r.runs_of("e-1") == 1);
  CHECK(r.runs_of("e-3") == 1);
  const auto recovered = r.event("e-3");
  REQUIRE(recovered);
  CHECK(recovered->origin() == aw::EventOrigin::recovered);
  CHECK(recovered->name() == "ticket.updated");
  CHECK(recovered->urn() == "urn:allthings:app:app-1:ticket:e-3");
  CHECK(recovered->data() == nlohmann::json{{"n", 3}});
  CHECK(recovered->created().has_value());
  CHECK(r.event("e-1")->origin() == aw::EventOrigin::delivered);

  // A second run finds nothing new; a late live delivery of a recovered event is a duplicate.
  const auto again = reconciler.reconcile(now() - std::chrono::hours(24));
  CHECK(again.events_recovered == 0);
  CHECK(again.events_already_seen == 4);
  CHECK(test::deliver_live(r.receiver, "e-2", {{"n", 2}}).body == aw::replies::duplicate.body);
  r.receiver.stop();
  CHECK(r.recorder.event_count() == 4);
}

TEST_CASE("a live delivery racing with the recovery of the same event runs once") {
  test::ReconcileHarness h;
  const auto t = now() - std::chrono::minutes(5);
  for (int i = 0; i < 20; ++i) {
    const auto id = "race-" + std::to_string(i);
    h.api.add_delivery("wh-1", test::delivery("d-" + id, id, "ticket.created", {{"i", i}}, t));
  }
  test::RecordingReceiver r(h.receiver_options());
  r.receiver.start();
  Reconciler reconciler(r.receiver, h.client(), h.reconciler_settings(5));
  std::thread live([&] {
    for (int i = 0; i < 20; ++i) {
      test::deliver_live(r.receiver, "race-" + std::to_string(i), {{"i", i}});
    }
  });
  const auto report = reconciler.reconcile();
  live.join();
  CHECK(report.events_recovered + report.events_already_seen == 20);
  REQUIRE(test::eventually([&] { return r.recorder.event_count() == 20; }));
  r.receiver.stop();
  CHECK(r.recorder.event_count() == 20);
  for (int i = 0; i < 20; ++i) CHECK(r.runs_of("race-" + std::to_string(i)) == 1);
}

TEST_CASE("a malformed delivery is reported and skipped, the others are recovered") {
  test::ReconcileHarness h;
  const auto t = now() - std::chrono::hours(1);
  auto bad_payload = test::delivery("d-1", "e-bad", "ticket.created", {}, t);
  bad_payload["event"]["payload"] = "{\"secret-payload-marker\": ";
  auto no_name = test::delivery("d-2", "e-nameless", "ticket.created", {}, t);
  no_name["event"].erase("name");
  auto no_event = test::delivery("d-3", "e-none", "ticket.created", {}, t);
  no_event["event"] = nullptr;
  h.api.add_delivery("wh-1", bad_payload);
  h.api.add_delivery("wh-1", no_name);
  h.api.add_delivery("wh-1", no_event);
  h.api.add_delivery("wh-1", test::delivery("d-4", "e-good", "ticket.created", {{"ok", 1}}, t));

  test::RecordingReceiver r(h.receiver_options());
  r.receiver.start();
  Reconciler reconciler(r.receiver, h.client(), h.reconciler_settings());
  const auto report = reconciler.reconcile();
  CHECK(report.complete);
  CHECK(report.deliveries_scanned == 4);
  CHECK(report.failed_to_parse == 3);
  CHECK(report.events_recovered == 1);
  REQUIRE(report.malformed.size() == 3);
  CHECK(report.malformed[0].delivery_id == "d-1");
  CHECK(report.malformed[0].reason == "payload is not JSON");
  CHECK(report.malformed[1].reason == "name is missing");
  CHECK(report.malformed[2].reason == "event is missing");
  REQUIRE(test::eventually([&] { return r.runs_of("e-good") == 1; }));
  r.receiver.stop();
  CHECK(r.recorder.event_count() == 1);
  CHECK(h.logs.text().find("secret-payload-marker") == std::string::npos);
}

TEST_CASE("401, 429, 5xx and a slow page are retried, the token refreshed, nothing lost") {
  test::ReconcileHarness h;
  add_history(h.api);
  // Page 1 answers; then, for the next requests in turn: a 500, a 429 asking to wait 0 s, a
  // revoked token (401), a page slower than the request timeout, then page 2; page 3 a 503.
  h.api.inject({});
  h.api.inject({500, "", false, {}});
  h.api.inject({429, "0", false, {}});
  h.api.inject({0, "", true, {}});
  h.api.inject({0, "", false, std::chrono::milliseconds(1500)});
  h.api.inject({});
  h.api.inject({503, "", false, {}});

  auto settings = h.api_settings();
  settings.request_timeout = std::chrono::milliseconds(500);
  auto client = std::make_shared<aw::reconcile::WebhooksApiClient>(settings);
  test::RecordingReceiver r(h.receiver_options());
  r.receiver.start();
  Reconciler reconciler(r.receiver, client, h.reconciler_settings());
  const auto report = reconciler.reconcile();
  CHECK(report.error == "");
  CHECK(report.complete);
  CHECK(report.events_recovered == 4);
  CHECK(h.api.unauthorized_answers() == 1);
  CHECK(client->token_fetches() == 2);
  REQUIRE(test::eventually([&] { return r.recorder.event_count() == 4; }));
  r.receiver.stop();
  const auto logs = h.logs.text();
  CHECK(logs.find("retrying") != std::string::npos);
  CHECK(logs.find("fetching a new one") != std::string::npos);
}

TEST_CASE("a 4xx other than 401 and 429 is not retried: the run ends at once, naming the status") {
  test::ReconcileHarness h;
  add_history(h.api);
  h.api.inject({403, "", false, {}});  // e.g. the client may not read this webhook
  test::RecordingReceiver r(h.receiver_options());
  Reconciler reconciler(r.receiver, h.client(), h.reconciler_settings());
  const auto report = reconciler.reconcile();
  CHECK_FALSE(report.complete);
  CHECK(report.error.find("HTTP 403 after 1 attempt(s)") != std::string::npos);
  CHECK(h.api.graphql_requests() == 1);
  CHECK(report.events_recovered == 0);
  CHECK_FALSE(reconciler.high_water_mark());
}

TEST_CASE("the token, the client secret and payloads never appear in logs or errors") {
  test::ReconcileHarness h;
  const auto t = now() - std::chrono::hours(1);
  h.api.add_delivery("wh-1", test::delivery("d-1", "e-1", "ticket.created",
                                            {{"tenant", "payload-marker-Qx7"}}, t));
  h.api.inject({});
  h.api.inject({0, "", true, {}});  // a 401, so a second token is fetched
  test::RecordingReceiver r(h.receiver_options());
  r.receiver.start();
  auto client = h.client();
  Reconciler reconciler(r.receiver, client, h.reconciler_settings());
  auto first = reconciler.reconcile();
  CHECK(first.events_recovered == 1);

  // A run that fails for good, after its retries: its error names the status only.
  for (int i = 0; i < 6; ++i) h.api.inject({500, "", false, {}});
  auto failed = reconciler.reconcile(now() - std::chrono::hours(3));
  CHECK_FALSE(failed.complete);
  CHECK(failed.error.find("HTTP 500") != std::string::npos);
  // And a client whose secret is refused.
  auto bad = h.api_settings();
  bad.credentials.client_secret = "wrong-secret-Vb3";
  Reconciler refused(r.receiver, std::make_shared<aw::reconcile::WebhooksApiClient>(bad),
                     h.reconciler_settings());
  auto refused_report = refused.reconcile();
  CHECK(refused_report.error.find("token request") != std::string::npos);
  r.receiver.stop();

  REQUIRE(h.api.issued_tokens().size() == 2);
  std::string everything = h.logs.text() + first.error + failed.error + refused_report.error;
  for (const auto& m : first.malformed) everything += m.reason;
  CHECK(everything.find("reconcile run finished") != std::string::npos);  // logs were captured
  for (const auto& token : h.api.issued_tokens()) {
    CHECK(everything.find(token) == std::string::npos);
  }
  CHECK(everything.find(test::FakeWebhooksApi::client_secret) == std::string::npos);
  CHECK(everything.find("wrong-secret-Vb3") == std::string::npos);
  CHECK(everything.find("payload-marker-Qx7") == std::string::npos);
}

TEST_CASE("a server whose certificate is not trusted is refused: verification is always on") {
  test::ReconcileHarness h;
  add_history(h.api);
  auto settings = h.api_settings();
  settings.ca_file.clear();  // the system's CAs: the fake's self-signed certificate fails
  settings.max_attempts = 1;
  test::RecordingReceiver r(h.receiver_options());
  Reconciler reconciler(r.receiver,
                        std::make_shared<aw::reconcile::WebhooksApiClient>(settings),
                        h.reconciler_settings());
  const auto report = reconciler.reconcile();
  CHECK_FALSE(report.complete);
  CHECK(report.events_recovered == 0);
  CHECK(report.error.find("no answer") != std::string::npos);
  CHECK(h.api.tokens_issued() == 0);
}

TEST_CASE("plain http URLs are refused at construction") {
  aw::reconcile::WebhooksApiSettings s;
  s.api_url = "http://webhooks.allthings.me/";
  s.credentials = {"https://accounts.example/token", "id", "secret", ""};
  CHECK_THROWS_AS(aw::reconcile::WebhooksApiClient{s}, std::invalid_argument);
}

TEST_CASE("an expired token is replaced before it is used") {
  test::ReconcileHarness h;
  add_history(h.api);
  // The server refuses a token after 2 s; the client replaces it half way, after 1 s.
  h.api.set_token_lifetime(std::chrono::seconds(2));
  test::RecordingReceiver r(h.receiver_options());
  auto client = h.client();
  Reconciler reconciler(r.receiver, client, h.reconciler_settings());
  CHECK(reconciler.reconcile().complete);
  const int fetched = client->token_fetches();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the refresh point
  CHECK(reconciler.reconcile(now() - std::chrono::hours(3)).complete);
  CHECK(client->token_fetches() > fetched);
  CHECK(h.api.unauthorized_answers() == 0);
}

TEST_CASE("a run stops at max_pages_per_run and does not move the high-water mark") {
  test::ReconcileHarness h;
  add_history(h.api);
  test::RecordingReceiver r(h.receiver_options());
  auto settings = h.reconciler_settings();
  settings.max_pages_per_run = 2;
  Reconciler reconciler(r.receiver, h.client(), settings);
  const auto report = reconciler.reconcile();
  CHECK(report.pages == 2);
  CHECK(report.page_limit_reached);
  CHECK_FALSE(report.complete);
  CHECK_FALSE(report.high_water_mark_advanced);
  CHECK_FALSE(reconciler.high_water_mark().has_value());
}

TEST_CASE("with a MemoryInbox the high-water mark is kept in memory and the report says so") {
  test::ReconcileHarness h;
  add_history(h.api);
  test::RecordingReceiver r(h.receiver_options());
  Reconciler reconciler(r.receiver, h.client(), h.reconciler_settings());
  CHECK_FALSE(reconciler.high_water_mark_durable());
  const auto before = now();
  const auto report = reconciler.reconcile();
  const auto after = now();
  CHECK_FALSE(report.high_water_mark_durable);
  CHECK(report.high_water_mark_advanced);
  const auto mark = reconciler.high_water_mark();
  REQUIRE(mark);
  // The run's start minus `settle`, so that events slow to show in the history are looked at
  // again next time (kept in milliseconds).
  const auto settle = reconciler.settings().settle;
  CHECK(*mark <= after - settle);
  CHECK(*mark >= before - settle - std::chrono::milliseconds(1));
}

TEST_CASE("a run never reaches further back than the receiver's dedupe window") {
  test::ReconcileHarness h;
  // Processed 20 days ago and forgotten by the id memory (dedupe_window 8 days): never again.
  h.api.add_delivery("wh-1", test::delivery("d-old", "e-old", "ticket.created", {},
                                            now() - std::chrono::hours(24 * 20), "SUCCESS"));
  test::RecordingReceiver r(h.receiver_options());
  Reconciler reconciler(r.receiver, h.client(), h.reconciler_settings());
  const auto report = reconciler.reconcile();
  CHECK(report.since_limited_by_dedupe);
  CHECK(report.deliveries_before_since == 1);
  CHECK(report.events_recovered == 0);
}

TEST_CASE("background runs report through on_report and stop cleanly") {
  test::ReconcileHarness h;
  add_history(h.api);
  test::RecordingReceiver r(h.receiver_options());
  r.receiver.start();
  std::mutex mutex;
  std::vector<aw::reconcile::ReconcileReport> reports;
  auto settings = h.reconciler_settings();
  settings.interval = std::chrono::milliseconds(50);
  settings.on_report = [&](const aw::reconcile::ReconcileReport& report) {
    std::lock_guard<std::mutex> lock(mutex);
    reports.push_back(report);
  };
  Reconciler reconciler(r.receiver, h.client(), settings);
  reconciler.start();
  REQUIRE(test::eventually([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return reports.size() >= 2;
  }));
  reconciler.stop();
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(reports[0].events_recovered == 4);
  // The second run starts at the high-water mark, which lies after these events were created.
  CHECK(reports[1].events_recovered == 0);
  CHECK(reports[1].deliveries_before_since == 5);
  REQUIRE(test::eventually([&] { return r.recorder.event_count() == 4; }));
  r.receiver.stop();
}
