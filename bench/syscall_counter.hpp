#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

extern char** environ;

// System calls of the server processes over a round, by `perf stat` on the syscalls
// tracepoints: /proc counts context switches but not futex calls, and those are how a thread
// hands work to another. Where perf is missing or not allowed (the tracepoints usually need
// root), nothing is counted and nothing is printed. Tracing system calls slows every process
// that makes them, so rounds measured with it are slower: it is off unless asked for.
namespace bench {

// What cpp-httplib (poll, recvfrom, sendto) and Node's libuv (epoll_(p)wait, read, write, writev)
// use to serve a request, futex for hand-offs between threads, and what SQLite uses to commit
// (pwrite64 for WAL frames, fdatasync, fcntl for its file locks, pread64).
inline const std::vector<std::string> counted_syscalls = {
    "futex", "poll",   "epoll_wait", "epoll_pwait", "recvfrom",  "read",  "sendto",
    "write", "writev", "pwrite64",   "pread64",     "fdatasync", "fsync", "fcntl"};

class SyscallCounter {
 public:
  explicit SyscallCounter(const std::vector<pid_t>& pids) {
    // A file of our own (perf would follow a planted symlink at a predictable name).
    char path[] = "/tmp/allthings-webhooks-bench-syscalls-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) return;
    ::close(fd);
    output_ = path;
    std::string pid_list;
    for (const auto pid : pids) pid_list += (pid_list.empty() ? "" : ",") + std::to_string(pid);
    std::vector<std::string> args{"perf", "stat", "-x", ",", "-o", output_, "-p", pid_list};
    for (const auto& name : counted_syscalls) {
      args.insert(args.end(), {"-e", "syscalls:sys_enter_" + name});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    if (::posix_spawnp(&perf_, "perf", &actions, nullptr, argv.data(), environ) != 0) perf_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    // perf attaches to the running threads; give it the moment it needs before the load.
    if (perf_ > 0) ::usleep(100 * 1000);
  }
  SyscallCounter(const SyscallCounter&) = delete;
  SyscallCounter& operator=(const SyscallCounter&) = delete;
  ~SyscallCounter() {
    if (perf_ > 0) {
      ::kill(perf_, SIGINT);
      ::waitpid(perf_, nullptr, 0);
    }
    if (!output_.empty()) std::remove(output_.c_str());
  }

  // perf's own process, or -1: its CPU time is the benchmark's, not another tenant's.
  pid_t pid() const { return perf_; }

  // Stops counting: syscall name -> calls, empty when perf could not count them.
  std::map<std::string, std::uint64_t> stop() {
    std::map<std::string, std::uint64_t> counts;
    if (perf_ <= 0) return counts;
    ::kill(perf_, SIGINT);  // perf stat writes its counts when interrupted
    int status = 0;
    ::waitpid(perf_, &status, 0);
    perf_ = -1;
    // CSV lines: value,unit,event,... ("<not supported>" or "<not counted>" as the value).
    std::ifstream csv(output_);
    const std::string prefix = "syscalls:sys_enter_";
    for (std::string line; std::getline(csv, line);) {
      const auto first = line.find(',');
      const auto second = first == std::string::npos ? first : line.find(',', first + 1);
      const auto third = second == std::string::npos ? second : line.find(',', second + 1);
      if (third == std::string::npos) continue;
      const std::string event = line.substr(second + 1, third - second - 1);
      if (event.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string value = line.substr(0, first);
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) continue;
      counts[event.substr(prefix.size())] += std::stoull(value);
    }
    return counts;
  }

 private:
  std::string output_;
  pid_t perf_ = -1;
};

}  // namespace bench
