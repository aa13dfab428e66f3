#pragma once

// Runs `serve --exec`'s command for one event: `/bin/sh -c CMD`, the event on its stdin, its
// stdout and stderr the tool's own. posix_spawn, because workers start children while other
// threads run. The child leads its own process group so that a timeout kills what it started too.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

extern char** environ;

namespace allthings::webhooks::tool {

// Throws std::runtime_error when the command cannot start, exits non-zero, is killed by a
// signal or outlives `timeout` (then its process group is killed).
inline void run_command(const std::string& command, const std::string& input,
                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("--exec: cannot create a pipe");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal_number : {SIGPIPE, SIGTERM, SIGINT}) sigaddset(&defaults, signal_number);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, "/bin/sh", &actions, &attributes,
                                    const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(in[0]);
  if (spawned != 0) {
    ::close(in[1]);
    throw std::runtime_error(std::string("--exec: cannot start /bin/sh: ") + std::strerror(spawned));
  }

  const auto remaining_ms = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
  };
  // Non-blocking writes bounded by the deadline: a command that never reads its stdin must
  // not hold a worker beyond the timeout. A command that exits without reading is fine.
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  std::size_t written = 0;
  while (written < input.size() && remaining_ms() > 0) {
    const ssize_t n = ::write(in[1], input.data() + written, input.size() - written);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      pollfd ready{in[1], POLLOUT, 0};
      ::poll(&ready, 1, std::min(remaining_ms(), 50));
    } else if (n < 0 && errno != EINTR) {
      break;  // EPIPE: the command closed its stdin
    }
  }
  ::close(in[1]);

  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error("--exec: lost the command's status");
    if (remaining_ms() == 0) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw std::runtime_error("--exec: the command ran longer than the timeout of " +
                               std::to_string(timeout.count()) + " ms and was killed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFSIGNALED(status)) {
    throw std::runtime_error("--exec: the command was killed by signal " +
                             std::to_string(WTERMSIG(status)));
  }
  if (WEXITSTATUS(status) != 0) {
    throw std::runtime_error("--exec: the command exited with status " +
                             std::to_string(WEXITSTATUS(status)));
  }
}

}  // namespace allthings::webhooks::tool
