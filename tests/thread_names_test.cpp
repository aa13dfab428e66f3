// The receiver's threads carry names (aw-http, aw-worker...), so that top -H, ps -L, gdb and
// the benchmark's CPU split tell them apart; and every one of them ends with the endpoint.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "support.hpp"
#include "thread_list.hpp"

namespace aw = allthings::webhooks;
using test::started_since;
using test::threads;

// Each thread names itself as it begins, and a joined thread leaves /proc a moment after the
// join returns: both are waited for.
TEST_CASE("a started endpoint names its threads and a stopped one leaves none behind") {
  const auto before = threads();
  aw::Options options = test::options();
  options.http_threads = 3;
  options.workers = 2;
  test::Server server(options);
  server.start();
  CHECK(test::status_of(server.post_signed(test::body("evt-names"))) == 200);
  const std::map<std::string, int> expected{
      {"aw-accept", 1}, {"aw-room", 1}, {"aw-http", 3}, {"aw-worker", 2}};
  CHECK(test::eventually([&] { return started_since(before) == expected; }));
  server.endpoint.stop();
  CHECK(test::eventually([&] { return started_since(before).empty(); }));
}

TEST_CASE("a receiver without a server names only its workers") {
  const auto before = threads();
  aw::Options options = test::options();
  options.workers = 3;
  aw::Receiver receiver(options);
  receiver.start();
  const std::map<std::string, int> expected{{"aw-worker", 3}};
  CHECK(test::eventually([&] { return started_since(before) == expected; }));
  receiver.stop();
  CHECK(test::eventually([&] { return started_since(before).empty(); }));
}
