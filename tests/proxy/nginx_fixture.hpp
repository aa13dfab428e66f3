#pragma once

// Runs Debian's nginx with the repository's recipe (docs/nginx/allthings-webhooks.conf) on a
// free port of 127.0.0.1, in front of an endpoint's port, from a scratch folder; its workers
// run as `nobody` when the test runs as root. Stopped (and the folder removed) on destruction.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "../raw_http.hpp"
#include "../sigpipe.hpp"

namespace test {

inline void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

class Nginx {
 public:
  explicit Nginx(int upstream_port) {
    char scratch_template[] = "/tmp/allthings-nginx-XXXXXX";
    if (::mkdtemp(scratch_template) == nullptr) throw std::runtime_error("mkdtemp failed");
    scratch_ = scratch_template;
    // nginx's unprivileged workers create and use the temp folders inside.
    ::chmod(scratch_.c_str(), 0755);

    std::ifstream recipe_file(ALLTHINGS_WEBHOOKS_NGINX_RECIPE);
    std::stringstream recipe;
    recipe << recipe_file.rdbuf();
    std::string config = recipe.str();
    if (config.empty()) throw std::runtime_error("cannot read the nginx recipe");
    port_ = free_port();
    replace_all(config, "@USER@", ::geteuid() == 0 ? "user nobody nogroup;" : "");
    replace_all(config, "@SCRATCH@", scratch_);
    replace_all(config, "@LISTEN_PORT@", std::to_string(port_));
    replace_all(config, "@UPSTREAM_PORT@", std::to_string(upstream_port));
    const std::string config_path = scratch_ + "/nginx.conf";
    std::ofstream(config_path) << config;

    const std::string error_log_path = scratch_ + "/error.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec in a multi-threaded parent.
      test::restore_default_sigpipe();
      ::execl(ALLTHINGS_WEBHOOKS_NGINX, "nginx", "-p", scratch_.c_str(), "-c",
              config_path.c_str(), "-e", error_log_path.c_str(), "-g", "daemon off;",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Started once it accepts connections (or it exited: a broken config).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!RawConnection(port_).connected()) {
      int status = 0;
      const bool exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
      if (exited) pid_ = -1;
      if (exited || std::chrono::steady_clock::now() > give_up) {
        const auto log = error_log();
        stop();
        throw std::runtime_error("nginx did not start: " + log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  ~Nginx() { stop(); }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  int port() const { return port_; }

  std::string error_log() const {
    std::ifstream file(scratch_ + "/error.log");
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

 private:
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);  // fast shutdown: the workers end too
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    std::error_code ignored;
    std::filesystem::remove_all(scratch_, ignored);
  }

  std::string scratch_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace test
