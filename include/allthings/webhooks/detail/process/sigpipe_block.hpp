#pragma once

// A write to a socket whose peer is gone raises SIGPIPE, which kills a process that has not
// ignored it. cpp-httplib's client (0.53.1 sends without MSG_NOSIGNAL) and OpenSSL under it
// write that way, and only cpp-httplib's Server ignores SIGPIPE, process-wide, in its
// constructor: a process that makes requests and runs no server (a Reconciler on its own)
// could die in the middle of one. A library should not change the process's signal
// dispositions, so, like libpq, the calling thread blocks SIGPIPE for the duration of the call
// and takes back the SIGPIPE the call raised; the write itself then fails with EPIPE, which the
// caller reports as a failed request. (Like libpq's, the take-back cannot tell the call's
// SIGPIPE from one sent to the whole process meanwhile, which can only wait for this thread
// when every thread blocks SIGPIPE.)
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace allthings::webhooks::detail {

class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    const sigset_t sigpipe = only_sigpipe();
    blocked_ = ::pthread_sigmask(SIG_BLOCK, &sigpipe, &previous_mask_) == 0;
    // One pending before the call (sent by kill(), or raised while the thread had it blocked)
    // is not ours to take.
    was_pending_ = blocked_ && sigpipe_pending();
  }

  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    const int saved_errno = errno;  // the caller may still read the failed call's errno
    if (!was_pending_ && sigpipe_pending()) {
      const sigset_t sigpipe = only_sigpipe();
      const timespec no_wait{0, 0};
      while (::sigtimedwait(&sigpipe, nullptr, &no_wait) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
    errno = saved_errno;
  }

  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  static sigset_t only_sigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return set;
  }

  static bool sigpipe_pending() {
    sigset_t pending;
    sigemptyset(&pending);
    return ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }

  sigset_t previous_mask_{};
  bool blocked_ = false;
  bool was_pending_ = false;
};

}  // namespace allthings::webhooks::detail
