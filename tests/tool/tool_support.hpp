#pragma once

// Runs the built allthings-webhooks binary as a user would: arguments, an environment, stdin,
// and what it wrote to stdout and stderr. Every run is checked for the secret: it must never
// appear in anything the tool writes.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace test {

namespace fs = std::filesystem;

// The secret every test uses, passed only through the environment variable below.
inline const std::string secret = "tool-test-secret-8c41f07b";
inline const std::string secret_env = "TOOL_TEST_SECRET";

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "aw-tool-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// The tool started with `args`, the secret in its environment, stdin from `input_file` and
// stdout and stderr into files.
inline pid_t spawn_tool(const std::vector<std::string>& args, const std::string& input_file,
                        const std::string& out_file, const std::string& err_file) {
  std::vector<std::string> argv_text{ALLTHINGS_WEBHOOKS_TOOL};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text{secret_env + "=" + secret};
  for (char** entry = environ; *entry != nullptr; ++entry) env_text.emplace_back(*entry);
  std::vector<char*> env;
  for (auto& entry : env_text) env.push_back(entry.data());
  env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, input_file.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int failed = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (failed != 0) throw std::runtime_error("cannot start " + argv_text[0]);
  return pid;
}

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the tool to its end; checks that the secret is in neither output.
inline Run run_tool(const std::vector<std::string>& args, const std::string& input = "") {
  ScratchDir dir;
  write_file(dir.file("stdin"), input);
  const pid_t pid = spawn_tool(args, dir.file("stdin"), dir.file("stdout"), dir.file("stderr"));
  int status = 0;
  ::waitpid(pid, &status, 0);
  Run run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir.file("stdout")),
          read_file(dir.file("stderr"))};
  CHECK_FALSE(contains(run.out + run.err, secret));
  return run;
}

// `allthings-webhooks serve ARGS --listen 127.0.0.1:0`, running until stopped; knows its port
// from the line it writes once listening.
class Server {
 public:
  // The test's secret unless `args` names a secret of their own.
  explicit Server(std::vector<std::string> args) {
    if (std::find(args.begin(), args.end(), "--secret-env") == args.end()) {
      args.insert(args.begin(), {"--secret-env", secret_env});
    }
    args.insert(args.begin(), {"serve", "--listen", "127.0.0.1:0", "--drain-delay-ms", "0"});
    write_file(dir_.file("stdin"), "");
    pid_ = spawn_tool(args, dir_.file("stdin"), dir_.file("stdout"), dir_.file("stderr"));
    const std::string marker = "listening on ";
    REQUIRE_MESSAGE(eventually([&] { return contains(err(), marker) || exited(); }),
                    "serve never said it was listening: " << err());
    REQUIRE_MESSAGE(!exited(), "serve ended: " << err());
    const auto text = err();
    const auto line = text.substr(text.find(marker));
    const auto colon = line.find(':', line.find("//"));
    port_ = std::stoi(line.substr(colon + 1));
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() {
    if (pid_ > 0 && !exited()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + "/webhooks/allthings";
  }
  std::string out() const { return read_file(dir_.file("stdout")); }
  std::string err() const { return read_file(dir_.file("stderr")); }

  // SIGTERM, then its exit code once it has drained.
  int terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    CHECK_FALSE(contains(out() + err(), secret));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  bool exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

  ScratchDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// `send` of one delivery per id, signed with the test's secret.
inline Run send(const std::string& url, const std::vector<std::string>& more = {}) {
  std::vector<std::string> args{"send", url, "--secret-env", secret_env};
  args.insert(args.end(), more.begin(), more.end());
  return run_tool(args);
}

}  // namespace test
