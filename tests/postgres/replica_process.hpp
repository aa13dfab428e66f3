#pragma once

// A running receiver_process (one replica) for the multi-process tests: started with its
// stdout on a pipe, killed and reaped at the latest when destroyed. Its handler's log lines are
// read back with read_starts().
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../sigpipe.hpp"

namespace test::pg {

inline long long monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

class Replica {
 public:
  // Starts receiver_process; throws when it does not print its port within a minute.
  Replica(const std::string& conninfo, const std::string& schema, const std::string& name,
          const std::string& log, std::vector<std::string> flags = {}) {
    std::vector<std::string> args{ALLTHINGS_WEBHOOKS_POSTGRES_RECEIVER, conninfo, schema, name,
                                  log};
    args.insert(args.end(), flags.begin(), flags.end());
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec in a multi-threaded parent.
      test::restore_default_sigpipe();
      ::dup2(out[1], STDOUT_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    const auto line = read_line(std::chrono::seconds(60));
    if (line.rfind("port ", 0) != 0) {
      kill_hard();
      throw std::runtime_error("replica " + name + " did not start: '" + line + "'");
    }
    port_ = std::atoi(line.c_str() + 5);
  }

  ~Replica() {
    if (pid_ > 0) kill_hard();
    if (out_ >= 0) ::close(out_);
  }
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool alive() const { return pid_ > 0; }

  void kill_hard() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void freeze() { ::kill(pid_, SIGSTOP); }
  void thaw() { ::kill(pid_, SIGCONT); }

  // SIGTERM, then its "stats ..." line as key -> value, and its exit status as "exit".
  std::map<std::string, long> stop() {
    ::kill(pid_, SIGTERM);
    std::map<std::string, long> stats;
    const auto line = read_line(std::chrono::seconds(60));
    std::istringstream words(line);
    std::string word;
    words >> word;
    while (words >> word) {
      const auto eq = word.find('=');
      if (eq != std::string::npos) stats[word.substr(0, eq)] = std::atol(word.c_str() + eq + 1);
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    stats["exit"] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return stats;
  }

 private:
  // One line of its stdout; the limit only bounds a replica that never writes it.
  std::string read_line(std::chrono::seconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (buffer_.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up) {
      pollfd ready{out_, POLLIN, 0};
      if (::poll(&ready, 1, 1000) <= 0) continue;
      char chunk[256];
      const auto n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) break;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    const auto newline = buffer_.find('\n');
    if (newline == std::string::npos) return {};
    const auto line = buffer_.substr(0, newline);
    buffer_.erase(0, newline + 1);
    return line;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = -1;
  std::string buffer_;
};

// A handler start read from a replica's log.
struct Start {
  long long at_ns = 0;
  std::string id;
  int attempt = 0;
  std::string replica;
};

// Every start in the log files, ordered by time.
inline std::vector<Start> read_starts(const std::vector<std::string>& logs) {
  std::vector<Start> starts;
  for (const auto& path : logs) {
    std::ifstream in(path);
    std::string word;
    Start start;
    while (in >> word >> start.at_ns >> start.id >> start.attempt >> start.replica) {
      starts.push_back(start);
    }
  }
  std::sort(starts.begin(), starts.end(),
            [](const Start& a, const Start& b) { return a.at_ns < b.at_ns; });
  return starts;
}

}  // namespace test::pg
