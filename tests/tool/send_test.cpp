// send and serve under every scheme preset, and send's ways of testing an endpoint: a body as
// it is, a timestamp too old.
#include "tool_support.hpp"

TEST_CASE("serve --scheme and send --scheme agree for every preset") {
  ::setenv("TOOL_TEST_WHSEC", "whsec_dG9vbC10ZXN0LXNlY3JldC04YzQxZjA3Yg==", 1);
  for (const std::string scheme :
       {"allthings", "standard-webhooks", "github", "stripe", "shopify", "slack"}) {
    CAPTURE(scheme);
    const std::string secret_env =
        scheme == "standard-webhooks" ? "TOOL_TEST_WHSEC" : test::secret_env;
    test::Server server({"--scheme", scheme, "--print", "--secret-env", secret_env});
    const auto sent = test::run_tool({"send", server.url(), "--scheme", scheme, "--secret-env",
                                      secret_env, "--id", "s-" + scheme, "--event", "thing.done",
                                      "--data", R"({"k":"v"})"});
    CHECK(sent.exit_code == 0);
    CHECK(test::contains(sent.out, "200\n"));
    REQUIRE(test::eventually([&] { return test::contains(server.out(), "\n"); }));
    CHECK(test::contains(server.out(), R"("name":"thing.done")"));
    CHECK(server.terminate() == 0);
  }
}

TEST_CASE("send --timestamp: a stale delivery is refused, and send says so in its exit code") {
  test::Server server({"--print"});
  const auto stale = test::send(server.url(), {"--timestamp", "1000000000"});
  CHECK(stale.exit_code == 1);
  CHECK(test::contains(stale.out, "401\n"));
  CHECK(server.terminate() == 0);
  CHECK(server.out().empty());
}

TEST_CASE("send --body posts a file's bytes as they are") {
  test::ScratchDir dir;
  const std::string body = R"({"event":{"id":"raw-1","name":"raw.thing","data":{"a":[1,2]}}})";
  test::write_file(dir.file("body.json"), body);
  test::Server server({"--print"});
  CHECK(test::send(server.url(), {"--body", dir.file("body.json")}).exit_code == 0);
  REQUIRE(test::eventually([&] { return test::contains(server.out(), "raw-1"); }));
  CHECK(test::contains(server.out(), R"("body":{"event":{"data":{"a":[1,2]})"));
  CHECK(server.terminate() == 0);
}

TEST_CASE("send to a server that is not there names the URL") {
  const auto run = test::send("http://127.0.0.1:1/webhooks/allthings");
  CHECK(run.exit_code == 1);
  CHECK(test::contains(run.err, "no answer from http://127.0.0.1:1/webhooks/allthings"));
}
