#pragma once

// SIGPIPE in test processes, which write to servers they kill and start children of their own.
#include <signal.h>

namespace test {

// For tests whose clients write to a server that is killed or stopping: the clients must see
// EPIPE, not die of SIGPIPE. cpp-httplib 0.53.1's client writes without MSG_NOSIGNAL, and only
// its Server ignores SIGPIPE, so a test process that runs no server in itself needs this.
struct SigpipeIgnored {
  SigpipeIgnored() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &previous);
  }
  ~SigpipeIgnored() { ::sigaction(SIGPIPE, &previous, nullptr); }
  SigpipeIgnored(const SigpipeIgnored&) = delete;
  SigpipeIgnored& operator=(const SigpipeIgnored&) = delete;
  struct sigaction previous {};
};

// For a fork child before its exec: SIGPIPE back to the default action, so that a test's
// SigpipeIgnored is not handed on across exec and the child's own handling stays under test.
// Async-signal-safe, as calls between fork and exec in a multi-threaded parent must be.
inline void restore_default_sigpipe() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &default_action, nullptr);
}

}  // namespace test
