// What a user sees when a command is mistyped or cannot start: exit 2 and one line for usage
// errors, exit 1 and a message naming what failed otherwise; --help everywhere.
#include "tool_support.hpp"

namespace {

bool one_line(const std::string& text) {
  return !text.empty() && text.find('\n') == text.size() - 1;
}

}  // namespace

TEST_CASE("every subcommand has --help, which exits 0") {
  for (const char* command : {"serve", "send", "sign", "verify", "inbox"}) {
    CAPTURE(command);
    const auto run = test::run_tool({command, "--help"});
    CHECK(run.exit_code == 0);
    CHECK(test::contains(run.out, "Usage: allthings-webhooks " + std::string(command)));
  }
  CHECK(test::run_tool({"--help"}).exit_code == 0);
}

TEST_CASE("usage errors exit 2 with a one-line reason") {
  const std::vector<std::vector<std::string>> mistakes{
      {},
      {"bogus"},
      {"serve", "--no-such-flag"},
      {"serve", "--print", "--listen", "nowhere"},
      {"send"},
      {"sign", "--scheme", "nonsense", "--secret-env", test::secret_env},
      {"verify", "--secret-env", test::secret_env},  // no --header
      {"inbox", "sqlite:/tmp/x.db", "explode"},
      {"inbox", "sqlite:/tmp/x.db", "show"},  // no ID
  };
  for (const auto& args : mistakes) {
    CAPTURE(args.empty() ? std::string("(nothing)") : args.back());
    const auto run = test::run_tool(args);
    CHECK(run.exit_code == 2);
    CHECK(one_line(run.err));
    CHECK(test::contains(run.err, "--help"));
  }
}

TEST_CASE("serve without anything to do with events refuses to start") {
  const auto run = test::run_tool({"serve", "--secret-env", test::secret_env});
  CHECK(run.exit_code == 2);
  CHECK(test::contains(run.err, "--print, --exec CMD and/or --forward URL"));
}

TEST_CASE("a secret variable that is not set is named, and nothing starts") {
  const auto run = test::run_tool({"serve", "--print", "--secret-env", "TOOL_TEST_UNSET_VARIABLE"});
  CHECK(run.exit_code == 1);
  CHECK(test::contains(run.err, "TOOL_TEST_UNSET_VARIABLE"));
  CHECK(test::contains(run.err, "not set"));
}

TEST_CASE("a secret file that cannot be read is named") {
  const auto run = test::run_tool({"serve", "--print", "--secret-file", "/nonexistent/secret"});
  CHECK(run.exit_code == 1);
  CHECK(test::contains(run.err, "cannot read the secret file /nonexistent/secret"));
}

TEST_CASE("serve without any secret says how to give one") {
  const auto run = test::run_tool({"serve", "--print"});
  CHECK(run.exit_code == 2);
  CHECK(test::contains(run.err, "--secret-env VAR or --secret-file PATH"));
}

TEST_CASE("an inbox location of an unknown kind is a usage error naming it") {
  const auto run = test::run_tool(
      {"serve", "--print", "--secret-env", test::secret_env, "--inbox", "mysql:db"});
  CHECK(run.exit_code == 2);
  CHECK(test::contains(run.err, "'mysql:db' is none of memory, sqlite:PATH"));
}

TEST_CASE("an inbox file that cannot be opened is named") {
  const auto run = test::run_tool({"inbox", "sqlite:/nonexistent/inbox.db", "list"});
  CHECK(run.exit_code == 1);
  CHECK(test::contains(run.err, "/nonexistent/inbox.db"));
}

TEST_CASE("an address that cannot be bound is named") {
  const auto run = test::run_tool(
      {"serve", "--print", "--secret-env", test::secret_env, "--listen", "203.0.113.1:1"});
  CHECK(run.exit_code == 1);
  CHECK(test::contains(run.err, "203.0.113.1:1"));
}

#if !ALLTHINGS_WEBHOOKS_TOOL_TEST_POSTGRES
TEST_CASE("without libpq, a postgres inbox is refused with the reason") {
  const auto run = test::run_tool({"inbox", "postgres:host=127.0.0.1", "list"});
  CHECK(run.exit_code == 1);
  CHECK(test::contains(run.err, "built without the postgres inbox"));
}
#endif
