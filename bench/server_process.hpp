#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

// The parent's side of a server child: this same program started again in --serve mode (or
// node_receiver.mjs), talked to through its stdin and stdout (one line per command; see serve()
// in served.hpp).
namespace bench {

using Fields = std::map<std::string, std::string>;

// "word key=value key=value" -> {key: value}; the leading word is dropped.
inline Fields parse_fields(const std::string& line) {
  Fields fields;
  std::istringstream words(line);
  std::string word;
  words >> word;
  while (words >> word) {
    const auto eq = word.find('=');
    if (eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return fields;
}

inline std::string own_executable() {
  char path[PATH_MAX];
  const auto n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(path, static_cast<std::size_t>(n));
}

class ServerProcess {
 public:
  // This program in --serve mode.
  explicit ServerProcess(const std::vector<std::string>& arguments)
      : ServerProcess(own_executable(), arguments) {}

  // Another program that speaks the same protocol on stdin and stdout.
  ServerProcess(const std::string& program, const std::vector<std::string>& arguments) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);

    // The benchmark ignores SIGPIPE; a server starts with the default, as it would anywhere.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int spawned = ::posix_spawn(&pid_, program.c_str(), &actions, &attributes, argv.data(),
                                      environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = from_child[0];
    if (spawned != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start the server process");
    }
  }

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Closing its stdin asks the child to stop; it is killed only if it does not exit in time.
  ~ServerProcess() {
    if (to_child_ >= 0) ::close(to_child_);
    if (pid_ > 0) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      int status = 0;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= give_up) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (from_child_ >= 0) ::close(from_child_);
  }

  pid_t pid() const { return pid_; }

  void send_line(const std::string& line) {
    const std::string text = line + "\n";
    if (::write(to_child_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw std::runtime_error("server process is gone");
    }
  }

  // The next line the child prints whose first word is `word`.
  Fields await(const std::string& word, std::chrono::seconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        const std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        if (line.compare(0, word.size() + 1, word + " ") == 0) return parse_fields(line);
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        throw std::runtime_error("server process did not answer '" + word + "'");
      }
      pollfd p{from_child_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const auto n = ::read(from_child_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("server process exited early");
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;
};

}  // namespace bench
