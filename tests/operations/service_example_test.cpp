// examples/service.cpp as an operator runs it: HTTPS on a port it picks, JSON logs, probes,
// metrics promtool accepts, and a graceful exit on SIGTERM.
#include <doctest/doctest.h>

#include <allthings/webhooks/testing.hpp>
#include <nlohmann/json.hpp>

#include "../support.hpp"
#include "operations_support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("the service example serves HTTPS, probes and metrics, and drains on SIGTERM") {
  test::TempDir dir;
  const auto cert = dir.file("cert.pem");
  const auto key = dir.file("key.pem");
  REQUIRE(test::run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                            "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
                            key + "' -out '" + cert + "'")
              .exit_code == 0);
  test::ChildProcess service({ALLTHINGS_WEBHOOKS_SERVICE_EXAMPLE},
                             {"ALLTHINGS_WEBHOOK_SECRET=" + test::secret, "PORT=0",
                              "TLS_CERT_FILE=" + cert, "TLS_KEY_FILE=" + key, "LOG_LEVEL=info",
                              "DRAIN_DELAY_MS=300"});
  const auto listening = service.wait_for_line(R"("body":"listening")");
  REQUIRE(listening);
  const auto record = nlohmann::json::parse(listening->text);
  CHECK(record["url.scheme"] == "https");
  const int port = record["server.port"];

  const auto base =
      "curl -s -S --max-time 10 --cacert '" + cert + "' https://127.0.0.1:" + std::to_string(port);
  CHECK(test::run_command(base + "/livez").output == R"({"status":"live"})");
  CHECK(test::run_command(base + "/readyz").output == R"({"status":"ready"})");
  const auto body = test::body("svc-1", "ticket.created", {{"id", "T-77"}});
  const auto body_path = dir.file("body.json");
  test::write_file(body_path, body);
  std::string headers;
  for (const auto& [name, value] : aw::testing::signed_headers(body, test::secret)) {
    headers += " -H '" + name + ": " + value + "'";
  }
  CHECK(test::run_command(base + "/webhooks/allthings -H 'Content-Type: application/json'" +
                          headers + " --data-binary @'" + body_path + "'")
            .output == R"({"status":"accepted"})");
  CHECK(service.wait_for_line("new ticket T-77"));
  const auto metrics = test::run_command(base + "/metrics").output;
  CHECK(metrics.find(R"(allthings_webhooks_requests_total{outcome="accepted",status="200"} 1)") !=
        std::string::npos);
  test::promtool_accepts(metrics);

  service.signal(SIGTERM);
  CHECK(service.wait_for_exit(15s) == 0);
  CHECK(service.wait_for_line("signal received"));
  CHECK(service.wait_for_line("stopped: workers drained"));
}
