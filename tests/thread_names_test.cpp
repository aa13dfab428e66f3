// The receiver's threads carry names (aw-http, aw-worker...), so that top -H, ps -L, gdb and
// the benchmark's CPU split tell them apart; and every one of them ends with the endpoint.
#include <dirent.h>
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <string>

#include "support.hpp"

namespace {

namespace aw = allthings::webhooks;

// How many threads of this process carry each name, from /proc/self/task/*/comm.
std::map<std::string, int> thread_names() {
  std::map<std::string, int> names;
  DIR* tasks = ::opendir("/proc/self/task");
  REQUIRE(tasks != nullptr);
  while (const dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name)) ++names[name];
  }
  ::closedir(tasks);
  return names;
}

// The names in `after` that `before` did not have as often, with how many more.
std::map<std::string, int> added(const std::map<std::string, int>& before,
                                 const std::map<std::string, int>& after) {
  std::map<std::string, int> more;
  for (const auto& [name, count] : after) {
    const auto earlier = before.find(name);
    const int base = earlier == before.end() ? 0 : earlier->second;
    if (count > base) more[name] = count - base;
  }
  return more;
}

}  // namespace

TEST_CASE("a started endpoint names its threads and a stopped one leaves none behind") {
  const auto before = thread_names();
  aw::Options options = test::options();
  options.http_threads = 3;
  options.workers = 2;
  {
    test::Server server(options);
    server.start();
    CHECK(test::status_of(server.post_signed(test::body("evt-names"))) == 200);
    const std::map<std::string, int> expected{
        {"aw-accept", 1}, {"aw-room", 1}, {"aw-http", 3}, {"aw-worker", 2}};
    // Each thread names itself as it begins.
    CHECK(test::eventually([&] { return added(before, thread_names()) == expected; }));
    server.endpoint.stop();
    CHECK(added(before, thread_names()).empty());
  }
}

TEST_CASE("a receiver without a server names only its workers") {
  const auto before = thread_names();
  aw::Options options = test::options();
  options.workers = 3;
  aw::Receiver receiver(options);
  receiver.start();
  const std::map<std::string, int> expected{{"aw-worker", 3}};
  CHECK(test::eventually([&] { return added(before, thread_names()) == expected; }));
  receiver.stop();
  CHECK(added(before, thread_names()).empty());
}
