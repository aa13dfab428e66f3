// Structured logs: the JSON Lines writer's format, levels, what each record says, and that no
// log line and no metric ever carries a secret, a signature or a body.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "../support.hpp"
#include "operations_support.hpp"

namespace aw = allthings::webhooks;

namespace {

// Collects what a JSON Lines writer wrote, line by line, parsed.
class LogCapture {
 public:
  // The writer's own lock guards the stream only against other writers: reading it while a
  // worker writes needs one lock around both.
  aw::LogHandler handler() {
    return [this, write = aw::json_lines_log(stream_)](aw::LogLevel level, std::string_view message,
                                                       const std::vector<aw::LogField>& fields) {
      std::lock_guard<std::mutex> lock(mutex_);
      write(level, message, fields);
    };
  }

  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    std::istringstream in(stream_.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  std::vector<nlohmann::json> records() {
    std::vector<nlohmann::json> out;
    for (const auto& line : lines()) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  std::vector<nlohmann::json> records_with(const std::string& body) {
    std::vector<nlohmann::json> out;
    for (auto& record : records()) {
      if (record.value("body", "") == body) out.push_back(record);
    }
    return out;
  }

 private:
  std::mutex mutex_;
  std::ostringstream stream_;
};

}  // namespace

TEST_CASE("the JSON Lines writer writes one object per record with OpenTelemetry's fields") {
  const auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  const auto line = aw::json_log_line(
      at, aw::LogLevel::warning, "handler \"failed\"",
      {{"event.id", "e-1"}, {"attempt", 2}, {"duration", 0.25}, {"bytes", std::string("\xff")}});
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.rfind(R"({"timestamp":"2023-11-14T22:13:20.123Z","severity_text":"WARN",)", 0) == 0);
  const auto record = nlohmann::json::parse(line);
  CHECK(record["severity_number"] == 13);
  CHECK(record["body"] == "handler \"failed\"");
  CHECK(record["event.id"] == "e-1");
  CHECK(record["attempt"] == 2);
  CHECK(record["duration"] == 0.25);
  CHECK(record["bytes"] == "\xef\xbf\xbd");  // invalid UTF-8 replaced, never a broken line
}

TEST_CASE("without a log hook nothing is logged, and the default level is quiet") {
  CHECK(aw::Options{}.log == nullptr);
  CHECK(aw::Options{}.log_level == aw::LogLevel::warning);

  LogCapture capture;
  aw::Options o = test::options();
  o.log = capture.handler();
  test::Server server(o);
  server.endpoint.on_any([](const aw::Event& e) {
    if (e.id() == "fails") throw std::runtime_error("handler broke");
  });
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("fine"))) == 200);
  const auto forged = test::body("forged");
  CHECK(test::status_of(server.post(forged, aw::testing::signed_headers(forged, "other"))) == 401);
  CHECK(test::status_of(server.post_signed(test::body("fails"))) == 200);
  REQUIRE(test::eventually([&] { return !capture.lines().empty(); }));
  server.endpoint.stop();

  // At warning: the handler's failures, nothing about requests or events that went well.
  const auto records = capture.records();
  REQUIRE_FALSE(records.empty());
  for (const auto& record : records) {
    CHECK(record["severity_text"] != "DEBUG");
    CHECK(record["severity_text"] != "INFO");
  }
  const auto failures = capture.records_with("handler failed");
  REQUIRE_FALSE(failures.empty());
  CHECK(failures[0]["event.id"] == "fails");
  CHECK(failures[0]["exception.message"] == "handler broke");
  CHECK(failures[0]["error.type"] == "handler_failed");
}

TEST_CASE("at debug every request and attempt is a record with its id, name, outcome, duration") {
  LogCapture capture;
  aw::Options o = test::options();
  o.log = capture.handler();
  o.log_level = aw::LogLevel::debug;
  test::Server server(o);
  server.endpoint.on("ticket.created", [](const aw::Event&) {});
  server.start();
  REQUIRE(test::status_of(server.post_signed(test::body("e-42"))) == 200);
  REQUIRE(
      test::eventually([&] { return !capture.records_with("event attempt finished").empty(); }));
  server.endpoint.stop();

  const auto acknowledged = capture.records_with("request acknowledged");
  REQUIRE(acknowledged.size() == 1);
  CHECK(acknowledged[0]["event.id"] == "e-42");
  CHECK(acknowledged[0]["event.name"] == "ticket.created");
  CHECK(acknowledged[0]["outcome"] == "accepted");
  CHECK(acknowledged[0]["http.response.status_code"] == 200);
  const auto finished = capture.records_with("event attempt finished");
  REQUIRE(finished.size() == 1);
  CHECK(finished[0]["event.id"] == "e-42");
  CHECK(finished[0]["outcome"] == "done");
  CHECK(finished[0]["attempt"] == 1);
  CHECK(finished[0]["duration"].is_number());
  CHECK(finished[0]["duration"].get<double>() >= 0);
  const auto listening = capture.records_with("listening");
  REQUIRE(listening.size() == 1);
  CHECK(listening[0]["server.port"] == server.port);
  CHECK(listening[0]["url.scheme"] == "http");
  CHECK(capture.records_with("stopped: workers drained").size() == 1);
}

TEST_CASE("no log line and no metric carries a secret, a signature or a body") {
  const std::string secret = "s3cr3t-7f3a9c21e4b8";
  const std::string rotated = "s3cr3t-rotated-55d0e6";
  const std::string marker = "BODYMARKER-c0ffee-5eed";
  LogCapture capture;
  aw::Options o = test::options();
  o.secrets = {secret, rotated};
  o.max_attempts = 2;
  o.max_body_bytes = 2048;
  o.log = capture.handler();
  o.log_level = aw::LogLevel::debug;
  test::Server server(o);
  std::vector<std::string> sent_signatures;
  std::vector<std::string> sent_bodies;
  server.endpoint.on("ticket.created", [](const aw::Event& e) {
    if (e.data().contains("fail")) throw std::runtime_error("handler broke");
  });
  server.start();
  auto send = [&](const std::string& body, const std::string& signing_secret,
                  const std::string& tamper = {}) {
    auto headers = aw::testing::signed_headers(body, signing_secret);
    sent_signatures.push_back(headers.find("x-allthings-signature")->second);
    sent_bodies.push_back(body);
    return test::status_of(server.post(tamper.empty() ? body : tamper, headers));
  };
  const nlohmann::json data = {{"note", marker}};
  CHECK(send(test::body("a", "ticket.created", data), secret) == 200);
  CHECK(send(test::body("a", "ticket.created", data), secret) == 200);  // duplicate
  CHECK(send(test::body("b", "ticket.created", data), rotated) == 200);
  CHECK(send(test::body("c", "ticket.created", data), "wrong secret") == 401);
  const auto original = test::body("d", "ticket.created", data);
  CHECK(send(original, secret, original + " ") == 401);  // tampered
  CHECK(send(test::body("dead", "ticket.created", {{"note", marker}, {"fail", 1}}), secret) == 200);
  CHECK(send(test::body("big", "ticket.created", {{"note", marker + std::string(3000, 'x')}}),
             secret) == 413);
  const auto unsigned_body = test::body("u", "ticket.created", data);
  sent_bodies.push_back(unsigned_body);
  CHECK(test::status_of(server.post(unsigned_body, {})) == 200);
  REQUIRE(test::eventually([&] { return server.endpoint.stats().dead_letters == 1; }));
  const auto metrics = test::get_body(server.port, "/metrics");
  const auto readiness = test::get_body(server.port, "/readyz");
  server.endpoint.stop();

  const auto lines = capture.lines();
  REQUIRE(lines.size() > 10);
  std::vector<std::string> outputs(lines);
  outputs.push_back(metrics);
  outputs.push_back(readiness);
  for (const auto& output : outputs) {
    INFO("output: " << output);
    CHECK(output.find(secret) == std::string::npos);
    CHECK(output.find(rotated) == std::string::npos);
    CHECK(output.find("s3cr3t") == std::string::npos);
    CHECK(output.find(marker) == std::string::npos);
    for (const auto& signature : sent_signatures) {
      CHECK(output.find(signature) == std::string::npos);
      CHECK(output.find(signature.substr(0, 16)) == std::string::npos);
    }
    for (const auto& body : sent_bodies) CHECK(output.find(body) == std::string::npos);
  }
  // And yet the records say what happened.
  const auto mismatches = capture.records_with("signature matches none of the configured secrets");
  REQUIRE(mismatches.size() == 2);
  CHECK(mismatches[0]["error.type"] == "signature_mismatch");
  CHECK(mismatches[0]["http.response.status_code"] == 401);
  CHECK_FALSE(capture.records_with("handler failed").empty());
}
