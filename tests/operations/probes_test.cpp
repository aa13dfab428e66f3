// /livez and /readyz: what they answer while serving, draining, full or stopped, that they can
// be renamed, turned off and mounted on an application's server, and that probes are never
// webhook requests.
#include <doctest/doctest.h>

#include <httplib.h>

#include <thread>

#include "../support.hpp"

namespace aw = allthings::webhooks;

namespace {

struct Answer {
  int status = -1;
  std::string body;
};

Answer get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  const auto res = client.Get(path.c_str());
  if (!res) return {};
  return {res->status, res->body};
}

}  // namespace

TEST_CASE("livez and readyz answer 200 while serving and never count as webhook requests") {
  test::Server server;
  server.start();
  const auto live = get(server.port, "/livez");
  CHECK(live.status == 200);
  CHECK(live.body == R"({"status":"live"})");
  const auto ready = get(server.port, "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == R"({"status":"ready"})");
  CHECK(get(server.port, "/metrics").status == 200);

  const auto stats = server.endpoint.stats();
  CHECK(stats.received == 0);
  CHECK(stats.rejected == 0);
  for (const auto& request : server.endpoint.metrics().requests) CHECK(request.count == 0);
  CHECK(server.recorder.errors().empty());
}

TEST_CASE("a Receiver is ready once started, and says why not otherwise") {
  aw::Receiver receiver(test::options());
  CHECK_FALSE(receiver.readiness().ready);
  CHECK(std::string(receiver.readiness().reason) == "not_started");
  receiver.start();
  CHECK(receiver.readiness().ready);
  CHECK(std::string(receiver.readiness().reason) == "ready");
  receiver.begin_draining();
  CHECK(std::string(receiver.readiness().reason) == "draining");
  // Draining only changes what readiness says: deliveries are still acknowledged.
  const auto body = test::body("e1");
  const auto reply = receiver.handle(
      "POST", aw::testing::sign_headers(receiver.options(), body, test::secret), body);
  CHECK(reply.status == 200);
  receiver.stop_accepting();
  CHECK(std::string(receiver.readiness().reason) == "stopping");
  receiver.stop();
  CHECK(std::string(receiver.readiness().reason) == "stopped");
  CHECK_FALSE(receiver.readiness().ready);
}

TEST_CASE("readyz turns 503 queue_full at queue_capacity and 200 again once there is room") {
  aw::Options o = test::options();
  o.workers = 1;
  o.queue_capacity = 2;
  test::Server server(o);
  test::Latch latch;
  server.endpoint.on_any([&](const aw::Event&) { latch.wait(); });
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("e1"))) == 200);
  CHECK(get(server.port, "/readyz").status == 200);
  CHECK(test::status_of(server.post_signed(test::body("e2"))) == 200);
  const auto full = get(server.port, "/readyz");
  CHECK(full.status == 503);
  CHECK(full.body == R"({"status":"not_ready","reason":"queue_full"})");
  latch.release();
  CHECK(test::eventually([&] { return get(server.port, "/readyz").status == 200; }));
}

TEST_CASE("shutdown_gracefully turns readyz 503 at once and serves webhooks for drain_delay") {
  aw::Options o = test::options();
  o.drain_delay = 400ms;
  test::Server server(o);
  server.start();
  const auto begun = std::chrono::steady_clock::now();
  server.endpoint.shutdown_gracefully();
  const auto draining = get(server.port, "/readyz");
  CHECK(draining.status == 503);
  CHECK(draining.body == R"({"status":"not_ready","reason":"draining"})");
  CHECK(get(server.port, "/livez").status == 200);
  CHECK(test::status_of(server.post_signed(test::body("during-drain"))) == 200);
  CHECK(server.endpoint.stats().accepted == 1);

  server.endpoint.wait();  // returns once stopped
  CHECK(std::chrono::steady_clock::now() - begun >= 400ms);
  CHECK(get(server.port, "/livez").status == -1);  // the listener is closed
  CHECK_FALSE(server.recorder.saw_error(aw::ErrorKind::undelivered_at_stop));
}

TEST_CASE("stop() during drain_delay stops at once") {
  aw::Options o = test::options();
  o.drain_delay = std::chrono::minutes(10);
  test::Server server(o);
  server.start();
  server.endpoint.shutdown_gracefully();
  const auto begun = std::chrono::steady_clock::now();
  server.endpoint.stop();
  server.endpoint.wait();
  CHECK(std::chrono::steady_clock::now() - begun < 5s);
}

TEST_CASE("operations routes can be renamed or left out") {
  aw::Options o = test::options();
  o.operations.livez = "/healthz";
  o.operations.readyz = "/internal/ready";
  o.operations.metrics = "";
  test::Server server(o);
  server.start();
  CHECK(get(server.port, "/healthz").status == 200);
  CHECK(get(server.port, "/internal/ready").status == 200);
  CHECK(get(server.port, "/livez").status == 404);
  CHECK(get(server.port, "/readyz").status == 404);
  CHECK(get(server.port, "/metrics").status == 404);
}

TEST_CASE("operations paths are validated like the webhook path") {
  auto invalid = [](auto change) {
    aw::Options o = test::options();
    change(o);
    try {
      aw::WebhookEndpoint endpoint(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(invalid([](aw::Options& o) { o.operations.readyz = "readyz"; }).find("operations.readyz") !=
        std::string::npos);
  CHECK(invalid([](aw::Options& o) {
          o.operations.metrics = "/webhooks/allthings";
        }).find("operations.metrics must differ from path") != std::string::npos);
  CHECK(invalid([](aw::Options& o) {
          o.operations.livez = "/readyz";
        }).find("operations.livez must differ from operations.readyz") != std::string::npos);
  CHECK(invalid([](aw::Options& o) { o.operations.livez = "/live(z)"; }).find("livez") !=
        std::string::npos);
  CHECK(invalid([](aw::Options& o) { o.drain_delay = -1ms; }).find("drain_delay") !=
        std::string::npos);
  CHECK(invalid([](aw::Options& o) { o.listen_backlog = 0; }).find("listen_backlog") !=
        std::string::npos);
}

TEST_CASE("mount_operations adds the probes to an application's own server") {
  httplib::Server app;
  app.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("app", "text/plain");
  });
  aw::WebhookEndpoint endpoint(test::options());
  endpoint.mount(app);
  endpoint.mount_operations(app);
  const int port = app.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread serving([&] { app.listen_after_bind(); });
  REQUIRE(test::eventually([&] { return app.is_running(); }));

  CHECK(get(port, "/").body == "app");
  CHECK(get(port, "/livez").status == 200);
  CHECK(get(port, "/readyz").status == 200);
  CHECK(get(port, "/metrics").body.find("allthings_webhooks_build_info") != std::string::npos);
  endpoint.shutdown_gracefully();
  CHECK(get(port, "/readyz").status == 503);
  endpoint.wait();
  const auto stopped = get(port, "/readyz");  // the app's server outlives the endpoint
  CHECK(stopped.status == 503);
  CHECK(stopped.body == R"({"status":"not_ready","reason":"stopped"})");

  app.stop();
  serving.join();
}
