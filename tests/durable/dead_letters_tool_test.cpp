// The dead_letters example, run as an operator would: list, show, requeue, requeue-all.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "durable_support.hpp"

namespace aw = allthings::webhooks;

namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Outcome run_tool(std::vector<std::string> args) {
  args.insert(args.begin(), ALLTHINGS_WEBHOOKS_DEAD_LETTERS_TOOL);
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  const pid_t pid = test::start_process(std::move(args), out[1], true);
  ::close(out[1]);
  Outcome outcome;
  if (pid > 0) {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(out[0], buffer, sizeof buffer)) > 0) {
      outcome.output.append(buffer, static_cast<std::size_t>(n));
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ::close(out[0]);
  return outcome;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// An inbox file with dead letters "a" and "b" and a pending "c".
void make_inbox_with_dead_letters(const std::string& path) {
  test::ManualClock clock;
  aw::SqliteInbox inbox(path);
  inbox.attach(test::inbox_options(clock));
  for (const char* id : {"a", "b", "c"}) inbox.accept(test::record(id));
  for (int i = 0; i < 2; ++i) {
    auto delivery = inbox.next(0ms);
    delivery->attempt = 5;
    inbox.dead_letter(*delivery, "handlers still failing after 5 attempts");
  }
}

}  // namespace

TEST_CASE("the dead_letters tool lists, shows and requeues dead letters") {
  test::ScratchDir dir;
  const auto path = dir.file("inbox.db");
  make_inbox_with_dead_letters(path);

  const auto listed = run_tool({path, "list"});
  CHECK(listed.exit_code == 0);
  CHECK(contains(listed.output, "a\tticket.created\t5 attempts\t"));
  CHECK(contains(listed.output, "\thandlers still failing after 5 attempts\n"));
  CHECK(contains(listed.output, "2 dead letters"));
  CHECK_FALSE(contains(listed.output, "c\t"));

  const auto shown = run_tool({path, "show", "a"});
  CHECK(shown.exit_code == 0);
  CHECK(contains(shown.output, "state:    dead"));
  CHECK(contains(shown.output, test::record("a")->raw_body));

  CHECK(run_tool({path, "requeue", "a"}).exit_code == 0);
  const auto again = run_tool({path, "requeue", "a"});
  CHECK(again.exit_code == 1);
  CHECK(contains(again.output, "a is not a dead letter"));
  CHECK(contains(run_tool({path, "requeue-all"}).output, "requeued 1"));
  CHECK(contains(run_tool({path, "list"}).output, "0 dead letters"));
  CHECK(aw::SqliteInboxFile(path).count(aw::StoredState::pending) == 3);
}

TEST_CASE("the dead_letters tool explains what it cannot do") {
  test::ScratchDir dir;
  const auto missing = run_tool({dir.file("typo.db"), "list"});
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.output, dir.file("typo.db") + " does not exist"));
  CHECK(run_tool({dir.file("typo.db"), "frobnicate"}).exit_code == 2);
  CHECK(run_tool({dir.file("typo.db"), "show"}).exit_code == 2);
}
