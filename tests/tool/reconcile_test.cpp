// `reconcile` against the fake Webhooks API: a missing event is listed (--dry-run), stored in
// a SQLite inbox and run by the next serve on it, found again as already there; with a memory
// inbox it is printed (--print). Usage mistakes exit 2 with one line; an incomplete run exits 1;
// the client secret may come from a file, and a secret or CA file that fails is named.
#include <algorithm>
#include <chrono>
#include <fstream>

#include "api_fake.hpp"

namespace {

using namespace std::chrono_literals;

// The webhook "wh-1" with one delivery of event ev-1 an hour ago, which never arrived.
void one_missed_event(test::FakeWebhooksApi& api) {
  api.add_delivery("wh-1", test::delivery("d-1", "ev-1", "ticket.created",
                                          {{"id", "t-1"}, {"title", "Leak"}},
                                          std::chrono::system_clock::now() - 1h));
}

std::vector<std::string> reconcile(const std::string& inbox, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"reconcile",    "--webhook-id", "wh-1",        "--since", "6h",
                                "--inbox",      inbox,          "--secret-env", test::secret_env};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST_CASE("reconcile: a missed event is listed, stored once and run by the next serve") {
  test::ToolApi fake;
  one_missed_event(fake.api);
  test::ScratchDir dir;
  const auto inbox = "sqlite:" + dir.file("inbox.db");

  const auto dry = fake.run(reconcile(inbox, {"--dry-run"}));
  INFO(dry.err);
  CHECK(dry.exit_code == 0);
  CHECK(test::contains(dry.out, "missing\tev-1\tticket.created\t"));
  CHECK(test::contains(dry.out, "1 missing (dry run: nothing stored), 0 already in the inbox"));
  CHECK(test::contains(test::run_tool({"inbox", inbox, "stats"}).out, "pending\t0\n"));

  const auto first = fake.run(reconcile(inbox));
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(test::contains(first.out, "recovered\tev-1\tticket.created\t"));
  CHECK(test::contains(first.out, "1 recovered, 0 already in the inbox"));
  CHECK(test::contains(first.out, "complete\n"));
  CHECK(test::contains(first.err, "run at the next serve"));
  CHECK(test::contains(test::run_tool({"inbox", inbox, "stats"}).out, "pending\t1\n"));

  const auto second = fake.run(reconcile(inbox));
  CHECK(second.exit_code == 0);
  CHECK_FALSE(test::contains(second.out, "recovered\tev-1"));
  CHECK(test::contains(second.out, "0 recovered, 1 already in the inbox"));

  test::Server serve({"--inbox", inbox, "--print"});
  REQUIRE(test::eventually([&] { return test::contains(serve.out(), R"("id":"ev-1")"); }));
  CHECK(test::contains(serve.out(), R"("title":"Leak")"));
  CHECK(serve.terminate() == 0);
}

TEST_CASE("reconcile: with a memory inbox --print writes each recovered event") {
  test::ToolApi fake;
  one_missed_event(fake.api);
  const auto printed = fake.run(reconcile("memory", {"--print"}));
  INFO(printed.err);
  CHECK(printed.exit_code == 0);
  CHECK(test::contains(printed.out, R"("id":"ev-1")"));
  CHECK(test::contains(printed.out, R"("name":"ticket.created")"));
  CHECK_FALSE(test::contains(printed.out, "recovered\tev-1"));  // the report goes to stderr
  CHECK(test::contains(printed.err, "1 recovered"));

  const auto nowhere = fake.run(reconcile("memory"));
  CHECK(nowhere.exit_code == 2);
  CHECK(test::contains(nowhere.err, "a memory inbox keeps nothing"));
  const auto durable_print = fake.run(reconcile("sqlite:/nonexistent/x.db", {"--print"}));
  CHECK(durable_print.exit_code == 2);
  CHECK(test::contains(durable_print.err, "--print is for --inbox memory"));
}

TEST_CASE("reconcile: usage mistakes exit 2, a missing secret and an incomplete run exit 1") {
  test::ToolApi fake;
  one_missed_event(fake.api);

  const auto since = fake.run({"reconcile", "--webhook-id", "wh-1", "--since", "6x", "--inbox",
                               "memory", "--print", "--secret-env", test::secret_env});
  CHECK(since.exit_code == 2);
  CHECK(test::contains(since.err, "--since wants a positive whole number"));
  CHECK(std::count(since.err.begin(), since.err.end(), '\n') == 1);

  // No --client-secret-env nor --client-secret-file.
  const auto no_secret = test::run_tool(
      {"reconcile", "--webhook-id", "wh-1", "--since", "6h", "--inbox", "memory", "--print",
       "--secret-env", test::secret_env, "--client-id", "client-1"});
  CHECK(no_secret.exit_code == 2);
  CHECK(test::contains(no_secret.err, "no client secret: give --client-secret-env"));

  auto unset = reconcile("memory", {"--print"});
  unset.insert(unset.end(), {"--client-id", "client-1", "--client-secret-env", "NOT_SET_HERE_42"});
  const auto unset_run = test::run_tool(unset);
  CHECK(unset_run.exit_code == 1);
  CHECK(test::contains(unset_run.err, "NOT_SET_HERE_42 is not set"));

  const auto unknown = fake.run({"reconcile", "--webhook-id", "no-such-webhook", "--since", "6h",
                                 "--inbox", "memory", "--print", "--secret-env",
                                 test::secret_env});
  CHECK(unknown.exit_code == 1);
  CHECK(test::contains(unknown.err, "the run was not complete"));
  CHECK(test::contains(unknown.err, "incomplete\n"));
}

TEST_CASE("reconcile: a client secret file works, a bad secret file or CA file is named") {
  test::ToolApi fake;
  one_missed_event(fake.api);
  test::TempDir dir;
  const auto secret_file = dir.file("client-secret");
  {
    std::ofstream out(secret_file);
    out << test::FakeWebhooksApi::client_secret << "\n";
  }
  // Everything but the client secret and the CA, which each part of this test gives its way.
  const auto api = [&](const std::string& secret_file_option, const std::string& cacert) {
    auto args = reconcile("memory", {"--dry-run"});
    args.insert(args.end(), {"--api-url", fake.api.api_url(), "--token-url", fake.api.token_url(),
                             "--client-id", test::FakeWebhooksApi::client_id,
                             "--client-secret-file", secret_file_option, "--cacert", cacert});
    auto result = test::run_tool(args);
    CHECK_FALSE(test::contains(result.out + result.err, test::FakeWebhooksApi::client_secret));
    return result;
  };

  const auto from_file = api(secret_file, fake.certificate.cert);
  INFO(from_file.err);
  CHECK(from_file.exit_code == 0);
  CHECK(test::contains(from_file.out, "ev-1"));

  const auto missing = api(dir.file("no-such-secret"), fake.certificate.cert);
  CHECK(missing.exit_code == 1);
  CHECK(test::contains(missing.err, "cannot read the file " + dir.file("no-such-secret")));

  const auto no_ca = api(secret_file, dir.file("no-such-ca.pem"));
  CHECK(no_ca.exit_code == 2);
  CHECK(test::contains(no_ca.err, "no-such-ca.pem"));

  // A CA that did not sign the fake's certificate: refused, the run incomplete.
  const test::ApiCertificate stranger;
  const auto tokens_before = fake.api.issued_tokens().size();
  const auto untrusted = api(secret_file, stranger.cert);
  CHECK(untrusted.exit_code == 1);
  CHECK(test::contains(untrusted.err, "the run was not complete"));
  CHECK(fake.api.issued_tokens().size() == tokens_before);  // the secret never left
}
