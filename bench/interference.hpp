#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

// How much of the machine other tenants used while a round ran: the CPU time all CPUs spent in
// user and system mode or stolen (on a VM: time the hypervisor gave to other guests), minus the
// CPU time of the benchmark and its server process. Interrupt time is left out: the loopback
// traffic of the benchmark itself is processed there. On a shared machine this tells a clean
// round from a disturbed one.
namespace bench {

namespace detail {

// Busy and total clock ticks of all CPUs, from the first line of /proc/stat.
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
  t.total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  t.busy = v[0] + v[1] + v[2] + v[7];
  return t;
}

// utime + stime of a process, all threads, in clock ticks; 0 when it is gone.
inline unsigned long long process_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  // Fields after the command name, which sits in parentheses and may hold blanks.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

}  // namespace detail

class InterferenceMeter {
 public:
  // Starts measuring; `ours` are the processes whose CPU time is not interference.
  explicit InterferenceMeter(std::vector<pid_t> ours)
      : ours_(std::move(ours)), start_(detail::machine_ticks()), ours_start_(ours_ticks()) {}

  // Share (0..1) of all CPUs' time in which other processes ran since construction.
  double others_share() const {
    const auto now = detail::machine_ticks();
    const auto total = now.total - start_.total;
    if (total == 0) return 0;
    const auto busy = now.busy - start_.busy;
    const auto ours = ours_ticks() - ours_start_;
    return busy > ours ? static_cast<double>(busy - ours) / static_cast<double>(total) : 0.0;
  }

 private:
  unsigned long long ours_ticks() const {
    unsigned long long sum = 0;
    for (const pid_t pid : ours_) sum += detail::process_ticks(pid);
    return sum;
  }

  std::vector<pid_t> ours_;
  detail::MachineTicks start_;
  unsigned long long ours_start_;
};

}  // namespace bench
