// stop_on_signals() in this process, with SIGINT: the signal starts a graceful shutdown, the
// handler that was there before comes back with the endpoint's end, and an ignored signal stays
// ignored. (SIGTERM under load, in a child process, is shutdown_test.cpp.)
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>

#include "../support.hpp"

namespace aw = allthings::webhooks;

namespace {

std::atomic<int> own_handler_calls{0};
void own_handler(int) { ++own_handler_calls; }

// Whether `handler` is the one installed for `signal_number` now.
bool installed(int signal_number, void (*handler)(int)) {
  struct sigaction action {};
  ::sigaction(signal_number, nullptr, &action);
  return action.sa_handler == handler;
}

// Restores SIGINT's disposition at the end of a test, whatever happened.
class SavedSigint {
 public:
  SavedSigint() { ::sigaction(SIGINT, nullptr, &saved_); }
  ~SavedSigint() { ::sigaction(SIGINT, &saved_, nullptr); }
  SavedSigint(const SavedSigint&) = delete;
  SavedSigint& operator=(const SavedSigint&) = delete;

 private:
  struct sigaction saved_ {};
};

}  // namespace

TEST_CASE("SIGINT after stop_on_signals shuts down gracefully, and the old handler comes back") {
  SavedSigint saved;
  ::signal(SIGINT, own_handler);
  own_handler_calls = 0;
  {
    aw::Options o = test::options();
    o.drain_delay = 0ms;
    test::Server server(o);
    server.endpoint.stop_on_signals();
    server.start();
    CHECK_FALSE(installed(SIGINT, own_handler));
    ::raise(SIGINT);
    server.endpoint.wait();  // returns once the shutdown the signal started is done
    CHECK(std::string(server.endpoint.readiness().reason) == "stopped");
    CHECK(own_handler_calls == 0);
  }
  CHECK(installed(SIGINT, own_handler));
  ::raise(SIGINT);
  CHECK(own_handler_calls == 1);
}

TEST_CASE("a signal the process ignores stays ignored") {
  SavedSigint saved;
  ::signal(SIGINT, SIG_IGN);
  aw::Options o = test::options();
  test::Server server(o);
  server.endpoint.stop_on_signals();
  server.start();
  CHECK(installed(SIGINT, SIG_IGN));
  ::raise(SIGINT);
  CHECK(server.endpoint.readiness().ready);
}
