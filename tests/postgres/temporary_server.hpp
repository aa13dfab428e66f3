#pragma once

// A PostgreSQL server of the test's own: initdb into a temporary folder (copied from a template
// cluster made once per build), pg_ctl start on a free 127.0.0.1 port as an unprivileged user
// (PostgreSQL refuses root, and CI runs as root: then as `postgres`, which Debian's package
// creates), pg_isready before use, and always stopped: by the destructor, and by a watchdog
// process when the test process dies without running it (a crash, a failed REQUIRE in a
// child). Used by the tests and the benchmark; knows nothing of doctest.
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../sigpipe.hpp"

namespace test::pg {

namespace fs = std::filesystem;

// The folder with initdb, pg_ctl and postgres: $ALLTHINGS_WEBHOOKS_PG_BINDIR, else the newest
// /usr/lib/postgresql/<version>/bin (Debian, Ubuntu), else the folder of an initdb on PATH.
// Empty when the server programs are not installed.
inline std::string server_bindir() {
  const auto complete = [](const fs::path& dir) {
    return fs::exists(dir / "initdb") && fs::exists(dir / "pg_ctl") && fs::exists(dir / "postgres");
  };
  if (const char* chosen = std::getenv("ALLTHINGS_WEBHOOKS_PG_BINDIR")) {
    return complete(chosen) ? std::string(chosen) : std::string();
  }
  std::error_code ignored;
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ignored)) {
    candidates.push_back(entry.path() / "bin");
  }
  std::sort(candidates.begin(), candidates.end(), [](const fs::path& a, const fs::path& b) {
    return std::atoi(a.parent_path().filename().c_str()) >
           std::atoi(b.parent_path().filename().c_str());
  });
  if (const char* path = std::getenv("PATH")) {
    std::string rest = path;
    for (std::size_t at = 0; at <= rest.size();) {
      const auto colon = std::min(rest.find(':', at), rest.size());
      candidates.emplace_back(rest.substr(at, colon - at));
      at = colon + 1;
    }
  }
  for (const auto& dir : candidates) {
    if (!dir.empty() && complete(dir)) return dir.string();
  }
  return {};
}

inline const char* missing_server_message =
    "PostgreSQL server binaries not found (install Debian's postgresql package, or set "
    "ALLTHINGS_WEBHOOKS_PG_BINDIR): skipping";

inline std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A TCP port on 127.0.0.1 that was free a moment ago.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  if (port <= 0) throw std::runtime_error("no free port on 127.0.0.1");
  return port;
}

// Runs `args` (as the server's user when we are root) with stdout and stderr appended to
// `log`, and returns its exit status. fork and exec: only async-signal-safe calls between them.
inline int run_program(std::vector<std::string> args, const fs::path& log, bool as_server_user) {
  if (as_server_user && ::geteuid() == 0) {
    args.insert(args.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const pid_t pid = ::fork();
  if (pid == 0) {
    test::restore_default_sigpipe();
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (out >= 0) ::close(out);
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Hands `path` (recursively) to the server's user when we are root.
inline void give_to_server_user(const fs::path& path) {
  if (::geteuid() != 0) return;
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr) {
    throw std::runtime_error("running as root, and there is no 'postgres' user to run the "
                             "PostgreSQL server as (Debian's postgresql package creates it)");
  }
  ::chown(path.c_str(), user->pw_uid, user->pw_gid);
  std::error_code ignored;
  for (const auto& entry : fs::recursive_directory_iterator(path, ignored)) {
    ::lchown(entry.path().c_str(), user->pw_uid, user->pw_gid);
  }
}

class TemporaryServer {
 public:
  // `template_dir`: where an initdb'd cluster is kept for copying (made by the first server
  // that finds none, under a lock); empty: initdb every time.
  explicit TemporaryServer(std::string bindir, std::string template_dir = {})
      : bindir_(std::move(bindir)) {
    std::string pattern = (fs::temp_directory_path() / "aw-postgres-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
    fs::permissions(root_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    start_watchdog();
    give_to_server_user(root_);
    if (template_dir.empty()) {
      init_cluster(data_dir());
    } else {
      copy_template(template_dir);
      give_to_server_user(root_);
    }
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      if (try_start()) break;
      if (attempt == 4) throw failure("pg_ctl start failed five times");
    }
  }

  TemporaryServer(const TemporaryServer&) = delete;
  TemporaryServer& operator=(const TemporaryServer&) = delete;

  ~TemporaryServer() {
    if (running_) pg_ctl({"stop", "-m", "fast"});
    std::error_code ignored;
    fs::remove_all(root_, ignored);
    if (watchdog_pipe_ >= 0) ::close(watchdog_pipe_);  // the watchdog finds nothing left
    if (watchdog_ > 0) ::waitpid(watchdog_, nullptr, 0);
  }

  int port() const { return port_; }
  const std::string& bindir() const { return bindir_; }

  std::string conninfo(const std::string& database = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + database;
  }

  // Fast shutdown: clients are disconnected, the server waits for nothing.
  void stop() {
    if (pg_ctl({"stop", "-m", "fast"}) != 0) throw failure("pg_ctl stop failed");
    running_ = false;
  }

  // Starts it again on the same port, with the same data.
  void start() {
    if (!try_start()) throw failure("pg_ctl start failed");
  }

  // The postmaster's process id (its backends are its children); -1 when it is not running.
  pid_t postmaster_pid() const {
    std::ifstream pid_file(data_dir() / "postmaster.pid");
    pid_t pid = -1;
    return pid_file >> pid ? pid : -1;
  }

  // The server's log so far, for failure messages.
  std::string log() const { return file_text(root_ / "server.log"); }

 private:
  fs::path data_dir() const { return root_ / "data"; }

  std::runtime_error failure(const std::string& what) const {
    return std::runtime_error("temporary PostgreSQL server in " + root_.string() + ": " + what +
                              "\n--- server log ---\n" + log() + "--- commands ---\n" +
                              file_text(root_ / "commands.log"));
  }

  int pg_ctl(std::vector<std::string> args) const {
    std::vector<std::string> command{
        bindir_ + "/pg_ctl", "-D", data_dir().string(), "-w", "-t", "60"};
    command.insert(command.end(), args.begin(), args.end());
    return run_program(command, root_ / "commands.log", true);
  }

  void init_cluster(const fs::path& into) const {
    const fs::path log = root_ / "commands.log";
    const int status = run_program({bindir_ + "/initdb", "-D", into.string(), "-A", "trust", "-U",
                                    "postgres", "-E", "UTF8", "--locale=C", "--no-sync"},
                                   log, true);
    if (status != 0) throw failure("initdb failed");
  }

  // Copies the template cluster, making it first when there is none (one process at a time:
  // ctest runs test programs in parallel).
  void copy_template(const fs::path& template_dir) {
    fs::create_directories(template_dir.parent_path());
    const auto lock_path = template_dir.string() + ".lock";
    const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw failure("cannot lock " + lock_path);
    try {
      if (!fs::exists(template_dir / "PG_VERSION")) {
        const fs::path building = root_ / "template";
        init_cluster(building);
        std::error_code ignored;
        fs::remove_all(template_dir, ignored);
        fs::copy(building, template_dir, fs::copy_options::recursive);
        fs::remove_all(building, ignored);
      }
      fs::copy(template_dir, data_dir(), fs::copy_options::recursive);
      fs::permissions(data_dir(), fs::perms::owner_all);  // the server insists on 0700
    } catch (...) {
      ::close(lock);
      throw;
    }
    ::close(lock);
  }

  bool try_start() {
    const std::string options = "-p " + std::to_string(port_) + " -k " + root_.string() +
                                " -c listen_addresses=127.0.0.1 -c max_connections=200";
    if (pg_ctl({"-l", (root_ / "server.log").string(), "-o", options, "start"}) != 0) {
      return false;
    }
    running_ = true;
    // pg_ctl -w waited for the server; pg_isready confirms it answers on our port.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (
        run_program({bindir_ + "/pg_isready", "-q", "-h", "127.0.0.1", "-p", std::to_string(port_)},
                    root_ / "commands.log", false) != 0) {
      if (std::chrono::steady_clock::now() > give_up) throw failure("pg_isready never succeeded");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  // A process that waits for this one to go away, then stops the server (immediately) and
  // removes the folder. The pipe's write end is ours alone (close-on-exec); when this process
  // dies, however it dies, the watchdog reads end-of-file.
  void start_watchdog() {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const std::string data = data_dir().string();
    std::string script = "read _ignored; ";
    script += ::geteuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : "";
    script += "'" + bindir_ + "/pg_ctl' -D '" + data + "' -m immediate stop >/dev/null 2>&1; ";
    script += "rm -rf '" + root_.string() + "'";
    std::vector<std::string> args{"/bin/sh", "-c", script};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    watchdog_ = ::fork();
    if (watchdog_ == 0) {
      test::restore_default_sigpipe();
      ::dup2(ends[0], STDIN_FILENO);  // dup2 clears close-on-exec on the copy
      ::setsid();                     // not killed with the test's process group
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(ends[0]);
    watchdog_pipe_ = ends[1];
  }

  std::string bindir_;
  fs::path root_;
  int port_ = 0;
  bool running_ = false;
  pid_t watchdog_ = -1;
  int watchdog_pipe_ = -1;
};

}  // namespace test::pg
