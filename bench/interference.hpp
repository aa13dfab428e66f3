#pragma once

#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

// How much of the machine other tenants used while a round ran, as a share of all CPUs' time:
// the time all CPUs spent in user or system mode or stolen by the hypervisor for other guests,
// minus the CPU time of the benchmark and its server process, minus kernel threads (which mostly
// work for the benchmark itself: loopback traffic, the durable inbox's fsyncs). Interrupt time
// is left out for the same reason. On a shared machine this tells a clean round from a
// disturbed one.
namespace bench {

namespace detail {

// Clock ticks all CPUs spent in user or system mode or stolen, and in total, from /proc/stat.
struct MachineTicks {
  unsigned long long busy = 0, total = 0;
};

inline MachineTicks machine_ticks() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;  // "cpu"
  // user nice system idle iowait irq softirq steal (guest times are inside user and nice)
  unsigned long long v[8] = {};
  for (auto& x : v) stat >> x;
  MachineTicks t;
  for (const auto x : v) t.total += x;
  t.busy = v[0] + v[1] + v[2] + v[7];
  return t;
}

struct ProcessTicks {
  bool readable = false;
  bool kernel_thread = false;
  unsigned long long ticks = 0;  // utime + stime, all threads
};

inline ProcessTicks process_ticks(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return {};
  // Fields after the command name, which sits in parentheses and may hold blanks; the first
  // one after it is field 3.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  ProcessTicks t;
  t.readable = true;
  constexpr unsigned long kernel_thread_flag = 0x00200000;  // PF_KTHREAD
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 9) t.kernel_thread = (std::stoul(field) & kernel_thread_flag) != 0;
    if (i >= 14) t.ticks += std::stoull(field);
  }
  return t;
}

// Ticks of every kernel thread, by pid.
inline std::map<std::string, unsigned long long> kernel_thread_ticks() {
  std::map<std::string, unsigned long long> ticks;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return ticks;
  while (const dirent* entry = ::readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      continue;
    }
    const auto t = process_ticks(name);
    if (t.readable && t.kernel_thread) ticks[name] = t.ticks;
  }
  ::closedir(proc);
  return ticks;
}

// The processes whose parent is `parent` (a database server's backends, say).
inline std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return children;
  while (const dirent* entry = ::readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat("/proc/" + name + "/stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == parent) children.push_back(std::stoi(name));
  }
  ::closedir(proc);
  return children;
}

// Ticks of `parent` and of each of its children, by pid; empty when parent is -1.
inline std::map<std::string, unsigned long long> family_ticks(pid_t parent) {
  std::map<std::string, unsigned long long> ticks;
  if (parent < 0) return ticks;
  auto pids = children_of(parent);
  pids.push_back(parent);
  for (const pid_t pid : pids) {
    const auto t = process_ticks(std::to_string(pid));
    if (t.readable) ticks[std::to_string(pid)] = t.ticks;
  }
  return ticks;
}

inline unsigned long long ticks_of(const std::vector<pid_t>& pids) {
  unsigned long long sum = 0;
  for (const pid_t pid : pids) sum += process_ticks(std::to_string(pid)).ticks;
  return sum;
}

// Calls `visit` with the /proc folder of every thread of the processes `pids` and a key that
// names the thread ("<pid>/<tid>").
template <class Visit>
void for_each_thread(const std::vector<pid_t>& pids, Visit visit) {
  for (const pid_t pid : pids) {
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = ::opendir(tasks.c_str());
    if (dir == nullptr) continue;
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      visit(tasks + "/" + entry->d_name, std::to_string(pid) + "/" + entry->d_name);
    }
    ::closedir(dir);
  }
}

// Context switches of every thread of the processes `pids`, voluntary (the thread blocked: on
// a futex, a socket, poll) and involuntary (preempted), from /proc/<pid>/task/*/status. The
// servers' threads live as long as their process, so none is missed.
inline unsigned long long context_switches_of(const std::vector<pid_t>& pids) {
  unsigned long long sum = 0;
  for_each_thread(pids, [&](const std::string& task, const std::string&) {
    std::ifstream status(task + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.find("ctxt_switches:") != std::string::npos) {
        sum += std::stoull(line.substr(line.find(':') + 1));
      }
    }
  });
  return sum;
}

// Each thread of the processes `pids`: its name (comm, which the receiver sets to aw-http,
// aw-worker...; other threads carry their process's name) and the nanoseconds it has run
// (the first field of its schedstat: exact, where stat's ticks are sampled), by thread id.
struct ThreadCpu {
  std::string name;
  unsigned long long run_ns = 0;
};

inline std::map<std::string, ThreadCpu> thread_cpu_of(const std::vector<pid_t>& pids) {
  std::map<std::string, ThreadCpu> threads;
  for_each_thread(pids, [&](const std::string& task, const std::string& key) {
    std::ifstream comm(task + "/comm");
    std::ifstream schedstat(task + "/schedstat");
    ThreadCpu thread;
    if (std::getline(comm, thread.name) && schedstat >> thread.run_ns) threads[key] = thread;
  });
  return threads;
}

// CPU nanoseconds spent between two snapshots, summed by thread name; threads started
// meanwhile count whole, threads that ended meanwhile are missed (the servers' threads live as
// long as their process).
inline std::map<std::string, unsigned long long> run_ns_by_thread_name(
    const std::map<std::string, ThreadCpu>& before, const std::map<std::string, ThreadCpu>& after) {
  std::map<std::string, unsigned long long> by_name;
  for (const auto& [id, thread] : after) {
    const auto earlier = before.find(id);
    const unsigned long long base = earlier == before.end() ? 0 : earlier->second.run_ns;
    by_name[thread.name] += thread.run_ns > base ? thread.run_ns - base : 0;
  }
  return by_name;
}

// Growth of the kernel threads' ticks between two snapshots; threads started meanwhile count
// whole.
inline unsigned long long growth(const std::map<std::string, unsigned long long>& before,
                                 const std::map<std::string, unsigned long long>& after) {
  unsigned long long sum = 0;
  for (const auto& [pid, ticks] : after) {
    const auto earlier = before.find(pid);
    const unsigned long long base = earlier == before.end() ? 0 : earlier->second;
    if (ticks > base) sum += ticks - base;
  }
  return sum;
}

}  // namespace detail

class InterferenceMeter {
 public:
  // Starts measuring; `ours` are the processes whose CPU time is not interference, and so are
  // `family` and its children (a database server: its backends for the receiver's
  // connections may start only once the load does, and count whole then); -1: none.
  explicit InterferenceMeter(std::vector<pid_t> ours, pid_t family = -1)
      : ours_(std::move(ours)),
        family_(family),
        machine_(detail::machine_ticks()),
        ours_ticks_(detail::ticks_of(ours_)),
        family_ticks_(detail::family_ticks(family_)),
        kernel_(detail::kernel_thread_ticks()) {}

  // Share (0..1) of all CPUs' time that other processes and other guests took since
  // construction.
  double others_share() const {
    const auto machine = detail::machine_ticks();
    const auto total = machine.total - machine_.total;
    if (total == 0) return 0;
    const auto busy = machine.busy - machine_.busy;
    const auto ours = detail::ticks_of(ours_) - ours_ticks_ +
                      detail::growth(family_ticks_, detail::family_ticks(family_));
    const auto kernel = detail::growth(kernel_, detail::kernel_thread_ticks());
    const auto explained = ours + kernel;
    return busy > explained ? static_cast<double>(busy - explained) / static_cast<double>(total)
                            : 0.0;
  }

 private:
  std::vector<pid_t> ours_;
  pid_t family_;
  detail::MachineTicks machine_;
  unsigned long long ours_ticks_;
  std::map<std::string, unsigned long long> family_ticks_;
  std::map<std::string, unsigned long long> kernel_;
};

}  // namespace bench
