// The accept committer's estimate of the queue's length subtracts what this replica's lease
// keeper took out, but only what the last count cannot have seen: with one replica the estimate
// must never undercount, or a batch could overfill the queue uncounted.
#include <doctest/doctest.h>

#include <allthings/webhooks/detail/postgres/removal_tally.hpp>
#include <chrono>

using allthings::webhooks::detail::pg::RemovalTally;
using namespace std::chrono_literals;

TEST_CASE("postgres: the queue estimate subtracts only removals that began after the last count") {
  RemovalTally tally;
  const auto start = std::chrono::steady_clock::now();
  tally.removed(3, start);
  CHECK(tally.take() == 0);  // no count yet: there is no estimate to subtract from

  tally.counted(start + 10ms);
  tally.removed(2, start + 5ms);  // began before the count committed: the count may include it
  tally.removed(4, start + 10ms);
  tally.removed(1, start + 20ms);
  CHECK(tally.take() == 5);
  CHECK(tally.take() == 0);  // taken once

  tally.removed(6, start + 30ms);
  tally.counted(start + 40ms);  // a new count includes what came before it
  CHECK(tally.take() == 0);
}
