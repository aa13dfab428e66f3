// serve --exec: the event's JSON on the command's stdin; a failing command runs again with
// back-off, a command outliving the timeout is killed and retried, and no secret reaches it.
#include <algorithm>

#include "tool_support.hpp"

TEST_CASE("serve --exec: a command that fails, then succeeds, handles the event once done") {
  test::ScratchDir dir;
  const auto tries = dir.file("tries");
  const auto done = dir.file("done");
  // Fails on its first run, succeeds on the second, saving the event it was given.
  const std::string command = "echo x >> " + tries + "; [ $(wc -l < " + tries + ") -ge 2 ] && cat > " + done;
  test::Server server({"--exec", command, "--retry-base-ms", "20"});
  REQUIRE(test::send(server.url(), {"--id", "exec-1", "--event", "ticket.created", "--data",
                                    R"({"title":"hello"})"})
              .exit_code == 0);
  REQUIRE(test::eventually([&] { return test::contains(test::read_file(done), "\n"); }));
  CHECK(server.terminate() == 0);
  const auto event = test::read_file(done);
  CHECK(test::contains(event, R"("id":"exec-1")"));
  CHECK(test::contains(event, R"("name":"ticket.created")"));
  CHECK(test::contains(event, R"("attempt":2)"));
  CHECK(test::contains(event, R"("title":"hello")"));
  CHECK(test::read_file(tries) == "x\nx\n");
  CHECK(test::contains(server.err(), "exited with status 1"));
}

TEST_CASE("serve --exec: a command that outlives --handler-timeout-ms is killed and retried") {
  test::ScratchDir dir;
  const auto started = dir.file("started");
  test::Server server({"--exec", "echo x >> " + started + "; sleep 30", "--handler-timeout-ms",
                       "200", "--retry-base-ms", "10", "--max-attempts", "2"});
  REQUIRE(test::send(server.url(), {"--id", "slow"}).exit_code == 0);
  REQUIRE(test::eventually([&] { return test::contains(server.err(), "dead_lettered"); }));
  CHECK(test::read_file(started) == "x\nx\n");
  CHECK(test::contains(server.err(), "longer than the timeout of 200 ms"));
  CHECK(server.terminate() == 0);
}

TEST_CASE("serve --exec: the command's environment holds no secret") {
  test::ScratchDir dir;
  const auto seen = dir.file("seen");
  test::Server server({"--exec", "env > " + seen + "; cat >> " + seen});
  REQUIRE(test::send(server.url(), {"--id", "env-1"}).exit_code == 0);
  REQUIRE(test::eventually([&] { return test::contains(test::read_file(seen), "env-1"); }));
  CHECK(server.terminate() == 0);
  CHECK_FALSE(test::contains(test::read_file(seen), test::secret));
  CHECK_FALSE(test::contains(test::read_file(seen), test::secret_env));
}

TEST_CASE("serve --print writes one JSON line per event") {
  test::Server server({"--print"});
  REQUIRE(test::send(server.url(), {"--count", "5", "--id", "p"}).exit_code == 0);
  REQUIRE(test::eventually([&] {
    const auto out = server.out();
    return std::count(out.begin(), out.end(), '\n') == 5;
  }));
  CHECK(server.terminate() == 0);
  CHECK(test::contains(server.out(), R"("id":"p-4")"));
  CHECK_FALSE(test::contains(server.out(), "remote_addr"));
}
