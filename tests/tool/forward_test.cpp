// send -> serve --forward -> an application: each event reaches it once, with its original
// body and signature and x-allthings-event-id; an application answering 503 gets it again.
#include <set>

#include "app_server.hpp"
#include "tool_support.hpp"

TEST_CASE("send, serve --forward: the application sees each event once") {
  test::AppServer app;
  test::Server server({"--forward", app.url(), "--workers", "4"});

  const auto sent = test::send(server.url(), {"--count", "40", "--concurrency", "4", "--id", "fw",
                                              "--event", "ticket.created", "--data", R"({"n":1})"});
  REQUIRE(sent.exit_code == 0);
  CHECK(test::contains(sent.out, "200\t40"));
  CHECK(test::contains(sent.out, "req/s"));

  REQUIRE(test::eventually([&] { return app.deliveries().size() >= 40; }));
  // Duplicates sent now are answered but not forwarded again.
  CHECK(test::send(server.url(), {"--id", "fw-3", "--event", "ticket.created", "--data",
                                  R"({"n":1})"})
            .exit_code == 0);
  CHECK(server.terminate() == 0);

  const auto deliveries = app.deliveries();
  CHECK(deliveries.size() == 40);
  std::set<std::string> ids;
  for (const auto& delivery : deliveries) {
    ids.insert(delivery.id);
    CHECK(test::contains(delivery.body, "\"id\":\"" + delivery.id + "\""));
    CHECK(delivery.signature.size() == 64);  // the original x-allthings-signature
    CHECK(delivery.content_type == "application/json");
  }
  CHECK(ids.size() == 40);
  CHECK(ids.count("fw-0") == 1);
  CHECK(ids.count("fw-39") == 1);
}

TEST_CASE("serve --forward: an application that answers 503 gets the event again") {
  test::AppServer app(/*failures_per_event=*/2);
  test::Server server({"--forward", app.url(), "--retry-base-ms", "20"});
  REQUIRE(test::send(server.url(), {"--id", "flaky"}).exit_code == 0);
  REQUIRE(test::eventually([&] { return app.deliveries().size() == 1; }));
  CHECK(app.attempts("flaky") == 3);
  CHECK(server.terminate() == 0);
  CHECK(test::contains(server.err(), "answered 503"));
}

TEST_CASE("serve --forward to an application that is down dead-letters after max attempts") {
  test::Server server({"--forward", "http://127.0.0.1:1/nothing-here", "--retry-base-ms", "10",
                       "--max-attempts", "2", "--handler-timeout-ms", "2000"});
  REQUIRE(test::send(server.url(), {"--id", "nowhere"}).exit_code == 0);
  REQUIRE(test::eventually([&] { return test::contains(server.err(), "dead_lettered"); }));
  CHECK(server.terminate() == 0);
  CHECK(test::contains(server.err(), "answered nothing"));
}
