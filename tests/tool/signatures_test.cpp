// `sign` and `verify` for every scheme preset: what sign writes, verify accepts; a body changed
// by one byte, a stale timestamp or another secret is rejected with the reason.
#include "tool_support.hpp"

namespace {

const std::vector<std::string> presets{"allthings", "standard-webhooks", "github",
                                       "stripe",    "shopify",           "slack"};

// Each preset's own body shape is not needed to verify: signatures cover the bytes.
const std::string body = R"({"event":{"id":"e-1","name":"ticket.created","data":{}}})";

// Secrets of the shape each scheme wants (Standard Webhooks: whsec_ and base64).
std::vector<std::string> secret_args(const std::string& scheme) {
  return {"--scheme", scheme, "--secret-env",
          scheme == "standard-webhooks" ? "TOOL_TEST_WHSEC" : test::secret_env};
}

std::vector<std::string> header_args(const std::string& headers) {
  std::vector<std::string> args;
  std::size_t at = 0;
  while (at < headers.size()) {
    const auto end = headers.find('\n', at);
    args.push_back("--header");
    args.push_back(headers.substr(at, end - at));
    at = end == std::string::npos ? headers.size() : end + 1;
  }
  return args;
}

test::Run verify(const std::string& scheme, const std::string& headers, const std::string& input,
                 std::vector<std::string> more = {}) {
  std::vector<std::string> args{"verify"};
  for (auto& arg : secret_args(scheme)) args.push_back(arg);
  for (auto& arg : header_args(headers)) args.push_back(arg);
  args.insert(args.end(), more.begin(), more.end());
  return test::run_tool(args, input);
}

struct WhsecSecret {
  // base64 of "tool-test-secret-8c41f07b"
  WhsecSecret() { ::setenv("TOOL_TEST_WHSEC", "whsec_dG9vbC10ZXN0LXNlY3JldC04YzQxZjA3Yg==", 1); }
};
const WhsecSecret whsec_secret;

}  // namespace

TEST_CASE("verify accepts what sign produced, for every scheme preset") {
  for (const auto& scheme : presets) {
    CAPTURE(scheme);
    std::vector<std::string> args{"sign"};
    for (auto& arg : secret_args(scheme)) args.push_back(arg);
    const auto signed_run = test::run_tool(args, body);
    REQUIRE(signed_run.exit_code == 0);
    CHECK(test::contains(signed_run.out, ": "));

    const auto valid = verify(scheme, signed_run.out, body);
    CHECK(valid.exit_code == 0);
    CHECK(valid.out == "valid\n");

    auto tampered = body;
    tampered[tampered.find("e-1")] = 'f';
    const auto rejected = verify(scheme, signed_run.out, tampered);
    CHECK(rejected.exit_code == 1);
    CHECK(test::contains(rejected.out, "invalid: signature_mismatch"));
  }
}

TEST_CASE("verify rejects a delivery signed with another secret") {
  ::setenv("TOOL_TEST_OTHER_SECRET", "another-secret", 1);
  const auto signed_run = test::run_tool(
      {"sign", "--secret-env", "TOOL_TEST_OTHER_SECRET"}, body);
  REQUIRE(signed_run.exit_code == 0);
  CHECK(verify("allthings", signed_run.out, body).exit_code == 1);
}

TEST_CASE("verify --now tells a stale delivery from a fresh one") {
  const auto signed_run = test::run_tool(
      {"sign", "--secret-env", test::secret_env, "--scheme", "stripe", "--timestamp", "1700000000"},
      body);
  REQUIRE(signed_run.exit_code == 0);
  CHECK(verify("stripe", signed_run.out, body, {"--now", "1700000010"}).exit_code == 0);
  const auto stale = verify("stripe", signed_run.out, body, {"--now", "1700003600"});
  CHECK(stale.exit_code == 1);
  CHECK(test::contains(stale.out, "stale_timestamp"));
}

TEST_CASE("verify says when there is no signature at all") {
  const auto run = verify("github", "Content-Type: application/json", body);
  CHECK(run.exit_code == 1);
  CHECK(test::contains(run.out, "no github signature header"));
}
