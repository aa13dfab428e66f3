// The client side of tests/reconcile/sigpipe_test.cpp, in a process of its own so that it
// starts clean (no locks held by another test's threads at a fork), with SIGPIPE as its parent
// left it before exec: at its default action, not blocked.
// Usage: allthings_webhooks_sigpipe_client PORT CA_FILE. Exits 0 when the request failed (as
// it must: the server resets it), 2 when it got an answer; SIGPIPE would kill it.
#include <chrono>
#include <string>

#include <allthings/webhooks/detail/reconcile/https_post.hpp>

int main(int argc, char** argv) {
  if (argc != 3) return 64;
  const std::string body(64 << 20, 'x');  // far more than the socket buffers hold
  const auto answer = allthings::webhooks::detail::https_post(
      {"127.0.0.1", std::stoi(argv[1]), "/graphql"}, argv[2], std::chrono::seconds(20), {}, body,
      "application/json");
  return answer.status == 0 ? 0 : 2;
}
