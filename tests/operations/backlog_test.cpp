// The listen backlog of the server listen()/start() build: the kernel's view of the socket,
// through `ss` (iproute2), whose Send-Q column shows a listening socket's backlog.
#include <doctest/doctest.h>

#include <sstream>

#include "../support.hpp"
#include "operations_support.hpp"

namespace aw = allthings::webhooks;

namespace {

// The backlog of the socket listening on 127.0.0.1:port, or -1.
int listen_backlog_of(int port) {
  const auto result = test::run_command("ss -Hltn 'sport = :" + std::to_string(port) + "'");
  std::istringstream in(result.output);
  std::string state, receive_queue, send_queue;
  in >> state >> receive_queue >> send_queue;
  INFO("ss said: " << result.output);
  return state == "LISTEN" ? std::stoi(send_queue) : -1;
}

}  // namespace

TEST_CASE("the endpoint listens with a backlog of listen_backlog, 128 by default") {
  if (!test::has_program("ss")) {
    MESSAGE("SKIPPED: ss is not installed (Debian: apt-get install iproute2)");
    return;
  }
  test::Server default_server;
  default_server.start();
  CHECK(listen_backlog_of(default_server.port) == 128);

  aw::Options o = test::options();
  o.listen_backlog = 37;
  test::Server custom(o);
  custom.start();
  CHECK(listen_backlog_of(custom.port) == 37);
  CHECK(test::status_of(custom.post_signed(test::body("e1"))) == 200);
}
