// Several senders on one cpp-httplib server: one WebhookEndpoint per scheme, each on its own
// path, mounted side by side, over real HTTP on 127.0.0.1.
#include <atomic>
#include <thread>

#include "scheme_support.hpp"

namespace aw = allthings::webhooks;

namespace {
// Serves `app` on an ephemeral port until destroyed, also when a REQUIRE fails. Returns once
// the server runs: cpp-httplib 0.11 loses a stop() that comes earlier.
struct Serving {
  explicit Serving(httplib::Server& server)
      : app(server), port(app.bind_to_any_port("127.0.0.1")), thread([this] {
          app.listen_after_bind();
          returned = true;
        }) {
    while (!app.is_running() && !returned) std::this_thread::sleep_for(1ms);
  }
  ~Serving() {
    app.stop();
    thread.join();
  }
  httplib::Server& app;
  int port;
  std::atomic<bool> returned{false};
  std::thread thread;
};
}  // namespace

TEST_CASE("endpoints with different schemes and paths share one cpp-httplib server") {
  const std::string github_secret = "gh-secret";
  const std::string stripe_secret = "whsec_stripe_secret";
  const std::string slack_secret = "slack-secret";
  auto github_options = test::preset_options(aw::schemes::github, {github_secret});
  github_options.path = "/webhooks/github";
  auto stripe_options = test::preset_options(aw::schemes::stripe, {stripe_secret});
  stripe_options.path = "/webhooks/stripe";
  auto slack_options = test::preset_options(aw::schemes::slack, {slack_secret});
  slack_options.path = "/webhooks/slack";

  test::Recorder github_events, stripe_events, slack_events;
  aw::WebhookEndpoint github(github_options), stripe(stripe_options), slack(slack_options);
  github.on_any([&](const aw::Event& e) { github_events.event(e); });
  stripe.on_any([&](const aw::Event& e) { stripe_events.event(e); });
  slack.on_any([&](const aw::Event& e) { slack_events.event(e); });

  httplib::Server app;
  app.set_payload_max_length(1024 * 1024);
  github.mount(app);
  stripe.mount(app);
  slack.mount(app);
  Serving serving(app);
  REQUIRE(app.is_running());
  httplib::Client client("127.0.0.1", serving.port);

  const std::string push = R"({"ref":"refs/heads/main"})";
  auto github_headers = aw::testing::signed_headers(github_options, push, github_secret);
  github_headers.emplace("X-GitHub-Event", "push");
  const std::string invoice = R"({"id":"evt_1","type":"invoice.paid","data":{"object":{}}})";
  const auto stripe_headers = aw::testing::signed_headers(stripe_options, invoice, stripe_secret);
  const std::string command = "command=%2Fdeploy&trigger_id=t.1";
  const auto slack_headers = aw::testing::signed_headers(slack_options, command, slack_secret);

  CHECK(test::status_of(
            client.Post("/webhooks/github", github_headers, push, "application/json")) == 200);
  CHECK(test::status_of(
            client.Post("/webhooks/stripe", stripe_headers, invoice, "application/json")) == 200);
  CHECK(test::status_of(client.Post("/webhooks/slack", slack_headers, command,
                                    "application/x-www-form-urlencoded")) == 200);
  // Each path verifies only its own sender's signatures and reads only its own bodies.
  CHECK(test::status_of(client.Post("/webhooks/stripe", github_headers, push,
                                    "application/json")) == 200);  // no Stripe-Signature: unsigned
  // Signed the GitHub way, but with the Stripe endpoint's secret.
  auto forged = aw::testing::signed_headers(github_options, push, stripe_secret);
  forged.emplace("X-GitHub-Event", "push");
  CHECK(test::status_of(client.Post("/webhooks/github", forged, push, "application/json")) == 401);
  CHECK(test::status_of(client.Post("/webhooks/github", slack_headers, command,
                                    "application/x-www-form-urlencoded")) == 415);

  REQUIRE(test::eventually([&] {
    return github_events.event_count() == 1 && stripe_events.event_count() == 1 &&
           slack_events.event_count() == 1;
  }));
  CHECK(github_events.events()[0].name() == "push");
  CHECK(stripe_events.events()[0].name() == "invoice.paid");
  CHECK(slack_events.events()[0].name() == "/deploy");
  CHECK(slack_events.events()[0].raw_body() == command);
  CHECK(stripe.stats().errors_of(aw::ErrorKind::unsigned_request) == 1);
  CHECK(github.stats().errors_of(aw::ErrorKind::signature_mismatch) == 1);
  CHECK(github.stats().errors_of(aw::ErrorKind::unsupported_media_type) == 1);
}
