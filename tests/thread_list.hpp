#pragma once

// This process's threads by name, for the tests of the library's thread names.
#include <dirent.h>

#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

namespace test {

// This process's threads: name (/proc/self/task/<tid>/comm) by thread id.
inline std::map<std::string, std::string> threads() {
  std::map<std::string, std::string> names;
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) throw std::runtime_error("cannot list /proc/self/task");
  while (const dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name)) names[entry->d_name] = name;
  }
  ::closedir(tasks);
  return names;
}

// How many of the threads that `before` did not have carry each of the library's names (aw-...).
// By thread id, so that threads of earlier tests ending meanwhile (a detached worker, say) do
// not count; only the library's names, so that a sanitizer's own thread, started late, does not.
inline std::map<std::string, int> started_since(const std::map<std::string, std::string>& before) {
  std::map<std::string, int> started;
  for (const auto& [tid, name] : threads()) {
    if (before.count(tid) == 0 && name.rfind("aw-", 0) == 0) ++started[name];
  }
  return started;
}

}  // namespace test
