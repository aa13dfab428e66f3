// ScopedSigpipeBlock: a write to a vanished peer inside it fails with EPIPE instead of killing
// the process, and the thread's signal state is as it was afterwards. Each case runs in a
// child process with SIGPIPE at its default action (death), as in a program that runs no
// cpp-httplib server.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <doctest/doctest.h>

#include <allthings/webhooks/detail/process/sigpipe_block.hpp>

#include "sigpipe.hpp"

namespace {

using allthings::webhooks::detail::ScopedSigpipeBlock;

sigset_t only_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  return set;
}

// How a child ended: its exit code, or 128 + the signal that killed it; -1 when none ran.
int run_in_child(int (*body)()) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // Default action, not blocked: as in a program that never touched SIGPIPE.
    test::restore_default_sigpipe();
    const sigset_t sigpipe = only_sigpipe();
    ::pthread_sigmask(SIG_UNBLOCK, &sigpipe, nullptr);
    ::_exit(body());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A write to a socket whose peer has closed: -1 with EPIPE, and SIGPIPE raised.
bool write_to_vanished_peer() {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0) return false;
  ::close(ends[1]);
  const char byte = 'x';
  const bool failed_with_epipe = ::write(ends[0], &byte, 1) < 0 && errno == EPIPE;
  ::close(ends[0]);
  return failed_with_epipe;
}

bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  return ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

bool sigpipe_blocked() {
  sigset_t mask;
  sigemptyset(&mask);
  return ::pthread_sigmask(SIG_BLOCK, nullptr, &mask) == 0 && sigismember(&mask, SIGPIPE) == 1;
}

int unguarded_write() {
  write_to_vanished_peer();
  return 0;  // not reached: SIGPIPE kills the child
}

int guarded_write() {
  {
    const ScopedSigpipeBlock guard;
    if (!write_to_vanished_peer()) return 2;
  }
  if (sigpipe_pending()) return 3;  // the block's SIGPIPE was not taken back
  if (sigpipe_blocked()) return 4;  // the mask was not restored
  return 0;
}

int guarded_write_with_sigpipe_blocked_by_the_caller() {
  const sigset_t sigpipe = only_sigpipe();
  ::pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
  {
    const ScopedSigpipeBlock guard;
    if (!write_to_vanished_peer()) return 2;
  }
  if (sigpipe_pending()) return 3;
  if (!sigpipe_blocked()) return 6;  // blocked before, so blocked after
  return 0;
}

int guarded_write_with_sigpipe_already_pending() {
  const sigset_t sigpipe = only_sigpipe();
  ::pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
  ::raise(SIGPIPE);  // pending, and not the block's to take
  {
    const ScopedSigpipeBlock guard;
    if (!write_to_vanished_peer()) return 2;
  }
  if (!sigpipe_pending()) return 5;
  if (!sigpipe_blocked()) return 6;  // blocked before, so blocked after
  return 0;
}

}  // namespace

TEST_CASE("a write to a vanished peer kills a process with SIGPIPE at its default action") {
  CHECK(run_in_child(unguarded_write) == 128 + SIGPIPE);
}

TEST_CASE("inside a ScopedSigpipeBlock such a write fails with EPIPE and leaves no trace") {
  CHECK(run_in_child(guarded_write) == 0);
}

TEST_CASE("a ScopedSigpipeBlock in a thread that blocks SIGPIPE leaves it blocked and not pending") {
  CHECK(run_in_child(guarded_write_with_sigpipe_blocked_by_the_caller) == 0);
}

TEST_CASE("a ScopedSigpipeBlock leaves a SIGPIPE that was pending before it pending") {
  CHECK(run_in_child(guarded_write_with_sigpipe_already_pending) == 0);
}
