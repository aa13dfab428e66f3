#include <doctest/doctest.h>

#include <allthings/webhooks/detail/queue/id_memory.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <utility>

using allthings::webhooks::detail::IdMemory;
using WallTime = IdMemory::WallTime;

namespace {
WallTime at(int seconds) { return WallTime(std::chrono::seconds(seconds)); }
}  // namespace

TEST_CASE("IdMemory keys differ for different ids and match for equal ones") {
  CHECK(IdMemory::key_of("e1") == IdMemory::key_of("e1"));
  CHECK_FALSE(IdMemory::key_of("e1") == IdMemory::key_of("e2"));
  CHECK_FALSE(IdMemory::key_of("") == IdMemory::key_of(std::string(1, '\0')));
}

TEST_CASE("IdMemory remembers, refreshes and forgets oldest first") {
  IdMemory ids;
  const auto a = IdMemory::key_of("a"), b = IdMemory::key_of("b");
  CHECK_FALSE(ids.last_seen(a));
  CHECK_FALSE(ids.oldest());
  ids.remember(a, at(1));
  ids.remember(b, at(2));
  CHECK(ids.size() == 2);
  CHECK(ids.last_seen(a) == at(1));
  CHECK(ids.oldest() == at(1));

  ids.remember(a, at(3));  // again: the entry at 1 is now stale
  CHECK(ids.size() == 2);
  CHECK(ids.last_seen(a) == at(3));
  ids.forget_oldest();  // the stale entry of a: a stays
  CHECK(ids.last_seen(a) == at(3));
  ids.forget_oldest();  // b
  CHECK_FALSE(ids.last_seen(b));
  CHECK(ids.size() == 1);
  ids.forget_oldest();  // a's latest
  CHECK_FALSE(ids.last_seen(a));
  CHECK(ids.size() == 0);
  ids.forget_oldest();  // nothing left: no effect
  CHECK(ids.size() == 0);
}

// Many ids, growth past the initial table, and removals in the middle of probe runs: the table
// must answer as a plain map of id -> latest time does.
TEST_CASE("IdMemory agrees with a reference map through growth and removals") {
  IdMemory ids;
  std::map<std::string, WallTime> latest;
  std::deque<std::pair<std::string, WallTime>> order;
  std::mt19937 random(12345);
  int now = 0;
  for (int step = 0; step < 60000; ++step) {
    const bool forget = !order.empty() && random() % 3 == 0;
    if (forget) {
      const auto [id, time] = order.front();
      order.pop_front();
      if (latest[id] == time) latest.erase(id);
      ids.forget_oldest();
    } else {
      const std::string id = "id-" + std::to_string(random() % 20000);
      latest[id] = at(++now);
      order.emplace_back(id, at(now));
      ids.remember(IdMemory::key_of(id), at(now));
    }
    if (step % 997 == 0) {
      REQUIRE(ids.size() == latest.size());
      for (int probe = 0; probe < 20000; probe += 7) {
        const std::string id = "id-" + std::to_string(probe);
        const auto expected = latest.find(id);
        const auto seen = ids.last_seen(IdMemory::key_of(id));
        if (expected == latest.end()) {
          REQUIRE_FALSE(seen);
        } else {
          REQUIRE(seen == expected->second);
        }
      }
    }
  }
  CHECK(ids.size() == latest.size());
  CHECK(ids.size() > 1024);  // grew past its first table
}
