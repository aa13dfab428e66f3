// With sqlite: a dead letter is listed, shown and requeued with `inbox`, then handled; SIGTERM
// with events in flight loses none of them.
#include <algorithm>
#include <set>

#include "tool_support.hpp"

namespace {

// The distinct lines of a file.
std::set<std::string> lines_of(const std::string& path) {
  std::set<std::string> lines;
  const auto text = test::read_file(path);
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find('\n', at);
    lines.insert(text.substr(at, end - at));
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

}  // namespace

TEST_CASE("inbox: a dead letter is listed, shown, requeued and then handled") {
  test::ScratchDir dir;
  const auto inbox = "sqlite:" + dir.file("inbox.db");
  {
    test::Server failing({"--inbox", inbox, "--exec", "exit 3", "--max-attempts", "2",
                          "--retry-base-ms", "10"});
    REQUIRE(test::send(failing.url(), {"--id", "dl-1", "--event", "ticket.created"}).exit_code ==
            0);
    REQUIRE(test::eventually([&] {
      return test::contains(test::run_tool({"inbox", inbox, "list"}).out, "1 dead letter\n");
    }));
    CHECK(failing.terminate() == 0);
  }
  const auto listed = test::run_tool({"inbox", inbox, "list"});
  CHECK(listed.exit_code == 0);
  CHECK(test::contains(listed.out, "dl-1\tticket.created\t2 attempts\t"));

  const auto shown = test::run_tool({"inbox", inbox, "show", "dl-1"});
  CHECK(shown.exit_code == 0);
  CHECK(test::contains(shown.out, "state:    dead"));
  CHECK(test::contains(shown.out, R"("id":"dl-1")"));
  CHECK(test::contains(test::run_tool({"inbox", inbox, "stats"}).out, "dead\t1\n"));

  const auto missing = test::run_tool({"inbox", inbox, "requeue", "no-such-id"});
  CHECK(missing.exit_code == 1);
  CHECK(test::contains(missing.err, "no-such-id is not a dead letter"));

  const auto requeued = test::run_tool({"inbox", inbox, "requeue", "dl-1"});
  CHECK(requeued.exit_code == 0);
  CHECK(requeued.out == "requeued dl-1\n");
  CHECK(test::contains(test::run_tool({"inbox", inbox, "requeue-all"}).out, "requeued 0"));

  const auto done = dir.file("done");
  test::Server working({"--inbox", inbox, "--exec", "cat >> " + done});
  REQUIRE(test::eventually([&] { return test::contains(test::read_file(done), "dl-1"); }));
  CHECK(working.terminate() == 0);
  CHECK(test::contains(test::run_tool({"inbox", inbox, "stats"}).out, "dead\t0\n"));
}

TEST_CASE("SIGTERM with events in flight loses nothing with sqlite") {
  test::ScratchDir dir;
  const auto inbox = "sqlite:" + dir.file("inbox.db");
  const auto done = dir.file("done");
  // Slow enough that most events are still queued when the signal comes.
  const std::string command = "sleep 0.05; grep -o '\"id\":\"sig-[0-9]*\"' | head -1 >> " + done;
  {
    test::Server first({"--inbox", inbox, "--exec", command, "--workers", "2",
                        "--drain-timeout-ms", "100"});
    REQUIRE(test::send(first.url(), {"--count", "60", "--concurrency", "4", "--id", "sig"})
                .exit_code == 0);
    CHECK(first.terminate() == 0);
    CHECK(test::contains(first.err(), "stay in the inbox and run at the next start"));
  }
  CHECK(lines_of(done).size() < 60);  // the drain was cut short: some were left

  test::Server second({"--inbox", inbox, "--exec", command, "--workers", "4"});
  REQUIRE(test::eventually([&] { return lines_of(done).size() == 60; }));
  CHECK(second.terminate() == 0);
  CHECK(test::contains(test::run_tool({"inbox", inbox, "stats"}).out, "pending\t0\n"));
}

TEST_CASE("the memory inbox says, at start and at exit, that unhandled events are lost") {
  test::Server server({"--exec", "sleep 5", "--drain-timeout-ms", "50", "--handler-timeout-ms",
                       "10000"});
  CHECK(test::contains(server.err(), "the memory inbox loses events"));
  REQUIRE(test::send(server.url(), {"--count", "3", "--id", "lost"}).exit_code == 0);
  CHECK(server.terminate() == 1);
  CHECK(test::contains(server.err(), "were not handled before exiting and are lost"));
}
