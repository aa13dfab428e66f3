#pragma once

// The events this replica's lease keeper took out of the queue (completed or dead-lettered)
// since the accept committer last counted the queue. The committer keeps an estimate of the
// queue's length so that most accept batches need not count it (a count reads every queued
// row, and the dead index entries of the events completed moments ago). Without the removals
// the estimate only grows: under steady load it soon said "half full", and then every batch
// counted.
//
// A removal is subtracted only when its transaction began after the count committed: then the
// count cannot have seen it, and with one replica the estimate still never undercounts.
#include <chrono>
#include <cstddef>
#include <mutex>

namespace allthings::webhooks::detail::pg {

class RemovalTally {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // The keeper: `removed` events left the queue in a pass that began at `pass_began`.
  void removed(std::size_t removed, TimePoint pass_began) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pass_began >= counted_at_) since_count_ += removed;
  }

  // The committer: a count committed at `at` (removals that began before it may be in it).
  void counted(TimePoint at) {
    std::lock_guard<std::mutex> lock(mutex_);
    counted_at_ = at;
    since_count_ = 0;
  }

  // The committer: the removals not yet subtracted from its estimate.
  std::size_t take() {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto taken = since_count_;
    since_count_ = 0;
    return taken;
  }

 private:
  std::mutex mutex_;
  TimePoint counted_at_ = TimePoint::max();  // no count yet: nothing to subtract from
  std::size_t since_count_ = 0;
};

}  // namespace allthings::webhooks::detail::pg
