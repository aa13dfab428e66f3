// serve --inbox postgres:... and inbox postgres:... against a PostgreSQL server of the test's
// own (tests/postgres/temporary_server.hpp); skipped where the server programs are missing.
#include "../postgres/temporary_server.hpp"
#include "tool_support.hpp"

TEST_CASE("serve --inbox postgres: events are handled, dead letters listed and requeued") {
  const auto bindir = test::pg::server_bindir();
  if (bindir.empty()) {
    MESSAGE(test::pg::missing_server_message);
    return;
  }
  test::pg::TemporaryServer postgres(bindir, ALLTHINGS_WEBHOOKS_PG_TEMPLATE);
  const auto inbox = "postgres:" + postgres.conninfo();
  const auto uri = "postgresql://postgres@127.0.0.1:" + std::to_string(postgres.port()) +
                   "/postgres";
  test::ScratchDir dir;
  const auto done = dir.file("done");
  {
    // Events whose data says "fail" keep failing and become dead letters.
    test::Server server({"--inbox", inbox, "--exec",
                         "cat > " + dir.file("event") + "; grep -q fail " + dir.file("event") +
                             " && exit 1; cat " + dir.file("event") + " >> " + done,
                         "--max-attempts", "2", "--retry-base-ms", "10", "--workers", "1"});
    REQUIRE(test::send(server.url(), {"--id", "pg-ok", "--data", R"({"x":"fine"})"}).exit_code ==
            0);
    REQUIRE(test::send(server.url(), {"--id", "pg-bad", "--data", R"({"x":"fail"})"})
                .exit_code == 0);
    REQUIRE(test::eventually([&] { return test::contains(test::read_file(done), "pg-ok"); }));
    REQUIRE(test::eventually([&] {
      return test::contains(test::run_tool({"inbox", uri, "list"}).out, "1 dead letter\n");
    }));
    CHECK(server.terminate() == 0);
  }
  const auto listed = test::run_tool({"inbox", inbox, "list"});
  CHECK(listed.exit_code == 0);
  CHECK(test::contains(listed.out, "pg-bad\t"));
  CHECK(test::contains(test::run_tool({"inbox", inbox, "stats"}).out, "dead\t1\n"));
  CHECK(test::run_tool({"inbox", inbox, "requeue", "pg-bad"}).exit_code == 0);
  CHECK(test::contains(test::run_tool({"inbox", inbox, "stats"}).out, "pending\t1\n"));
}

TEST_CASE("an unreachable PostgreSQL inbox is named") {
  const auto run = test::run_tool({"inbox", "postgres:host=127.0.0.1 port=1 connect_timeout=2",
                                   "list"});
  CHECK(run.exit_code == 1);
  CHECK_FALSE(run.err.empty());
}
