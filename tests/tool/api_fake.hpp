#pragma once

// The reconciler's HTTPS fake of Allthings' Webhooks API (tests/reconcile/), for driving
// `reconcile` and `webhooks` as a user would. The client secret reaches the tool only through
// the environment variable below; every run is checked for the secret and the tokens issued.
#include <cstdlib>
#include <string>
#include <vector>

#include "../reconcile/fake_webhooks_api.hpp"
#include "tool_support.hpp"

namespace test {

inline const std::string client_secret_env = "TOOL_TEST_CLIENT_SECRET";

class ToolApi {
 public:
  ToolApi() : api(certificate) {
    ::setenv(client_secret_env.c_str(), FakeWebhooksApi::client_secret, 1);
  }

  // --api-url ... --cacert ...: where the fake is and how to log in to it.
  std::vector<std::string> settings() const {
    return {"--api-url",   api.api_url(),       "--token-url",         api.token_url(),
            "--client-id", FakeWebhooksApi::client_id, "--client-secret-env", client_secret_env,
            "--cacert",    certificate.cert};
  }

  // The tool with `args` then settings(); neither the client secret nor a token in its output.
  Run run(std::vector<std::string> args) const {
    const auto more = settings();
    args.insert(args.end(), more.begin(), more.end());
    auto result = run_tool(args);
    const auto output = result.out + result.err;
    CHECK_FALSE(contains(output, FakeWebhooksApi::client_secret));
    for (const auto& token : api.issued_tokens()) CHECK_FALSE(contains(output, token));
    return result;
  }

  ApiCertificate certificate;
  FakeWebhooksApi api;
};

}  // namespace test
