#pragma once

// Shared pieces of the operations tests: GETs, running real tools (promtool, openssl, curl,
// ss), a scratch directory, and child processes whose output lines are read as they come.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "../sigpipe.hpp"

namespace test {

inline std::string get_body(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  const auto res = client.Get(path.c_str());
  return res ? res->body : std::string();
}

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "aw-ops-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline bool has_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with /bin/sh, its stdout and stderr captured together.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// promtool (Debian: prometheus) must accept the text without a single complaint. Where it is
// not installed the check is skipped, saying so.
inline void promtool_accepts(const std::string& text) {
  if (!has_program("promtool")) {
    MESSAGE("SKIPPED: promtool is not installed (Debian: apt-get install prometheus)");
    return;
  }
  TempDir dir;
  const auto path = dir.file("metrics.prom");
  write_file(path, text);
  const auto result = run_command("promtool check metrics < '" + path + "'");
  INFO("promtool said: " << result.output);
  CHECK(result.exit_code == 0);
  CHECK(result.output.empty());
}

// A child process whose stdout and stderr lines are collected, each with the moment it
// arrived; killed and reaped at the latest when destroyed.
class ChildProcess {
 public:
  struct Line {
    std::chrono::steady_clock::time_point at;
    std::string text;
  };

  explicit ChildProcess(std::vector<std::string> args,
                        const std::vector<std::string>& environment = {}) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings(environment);
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec in a multi-threaded parent.
      test::restore_default_sigpipe();
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    reader_ = std::thread([this, fd = out[0]] { read_lines(fd); });
  }

  ~ChildProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      wait_for_exit(std::chrono::seconds(30));
    }
    if (reader_.joinable()) reader_.join();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal_number) { ::kill(pid_, signal_number); }

  // The first line containing `text`, waiting up to `limit` for it.
  std::optional<Line> wait_for_line(const std::string& text,
                                    std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mutex_);
    std::optional<Line> found;
    cv_.wait_for(lock, limit, [&] {
      for (const auto& line : lines_) {
        if (line.text.find(text) != std::string::npos) {
          found = line;
          return true;
        }
      }
      return done_reading_;
    });
    return found;
  }

  std::vector<Line> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

  // The exit status (128 + signal when killed), or -1 when it did not exit within `limit`.
  int wait_for_exit(std::chrono::milliseconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exited_ = true;
        exited_at_ = std::chrono::steady_clock::now();
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() > give_up) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  std::chrono::steady_clock::time_point exited_at() const { return exited_at_; }

 private:
  void read_lines(int fd) {
    std::string pending;
    char buffer[4096];
    for (;;) {
      const auto n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      const auto now = std::chrono::steady_clock::now();
      pending.append(buffer, static_cast<std::size_t>(n));
      std::size_t end = 0;
      std::lock_guard<std::mutex> lock(mutex_);
      while ((end = pending.find('\n')) != std::string::npos) {
        lines_.push_back({now, pending.substr(0, end)});
        pending.erase(0, end + 1);
      }
      cv_.notify_all();
    }
    ::close(fd);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!pending.empty()) lines_.push_back({std::chrono::steady_clock::now(), pending});
    done_reading_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  std::chrono::steady_clock::time_point exited_at_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Line> lines_;
  bool done_reading_ = false;
};

}  // namespace test
